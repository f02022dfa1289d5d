import { describe, expect, it } from 'vitest';
import { compileFilter, compileSort } from '../../../lib/scim/filter-sql.js';
import { parseFilter } from '../../../lib/scim/filter.js';
import { GROUP_FILTER_TARGET, USER_FILTER_TARGET } from './link-filter.js';

const compileUser = (filter: string) => {
  const params: unknown[] = ['source-id'];
  return { sql: compileFilter(parseFilter(filter), USER_FILTER_TARGET, params), params };
};

describe('filters over the link table', () => {
  it.each([
    [
      'userName eq uses lower(user_name), the per-source index',
      'userName eq "Ada@X"',
      'lower(l.user_name) = lower($2)',
    ],
    ['externalId is caseExact', 'externalId eq "E1"', 'l.external_id = $2'],
    ['displayName is case-insensitive', 'displayName eq "Ada"', 'lower(l.display_name) = lower($2)'],
    [
      'emails.value eq uses the GIN expression',
      'emails.value eq "a@b"',
      'ib_email_values(l.payload) @> ARRAY[lower($2)]',
    ],
    ['id eq uses the primary key', 'id eq "8b6e4d5f-0000-4000-8000-000000000000"', 'l.id = $2::uuid'],
    [
      'meta.lastModified is the column',
      'meta.lastModified gt "2024-01-01T00:00:00Z"',
      'l.updated_at > $2::timestamptz',
    ],
  ])('%s', (_name, filter, expected) => {
    expect(compileUser(filter).sql).toContain(expected);
  });

  it('binds values, never writes them into SQL', () => {
    const { sql, params } = compileUser(`userName eq "x'; DROP TABLE users; --"`);
    expect(sql).not.toContain('DROP');
    expect(params).toEqual(['source-id', "x'; DROP TABLE users; --"]);
  });

  it('compiles an id that is not a uuid to false, not to a cast error', () => {
    expect(compileUser('id eq "nope"').sql).toContain('false');
  });

  it('restricts membership filters to objects of the same source', () => {
    const params: unknown[] = ['source-id'];
    const sql = compileFilter(
      parseFilter('members[value eq "8b6e4d5f-0000-4000-8000-000000000000"]'),
      GROUP_FILTER_TARGET,
      params,
    );
    expect(sql).toContain('ml.source_id = l.source_id');
    expect(sql).toContain('ml.deleted_at IS NULL');
    expect(() => compileFilter(parseFilter('members.display eq "x"'), GROUP_FILTER_TARGET, [])).toThrow(
      expect.objectContaining({ scimType: 'invalidFilter' }),
    );
  });

  it('sorts by the indexed columns where there is one', () => {
    expect(compileSort('userName', USER_FILTER_TARGET)).toBe('lower(l.user_name) ASC');
    expect(compileSort('id', USER_FILTER_TARGET, 'descending')).toBe('l.id::text DESC');
    expect(compileSort('meta.created', GROUP_FILTER_TARGET)).toBe('l.created_at ASC');
  });
});
