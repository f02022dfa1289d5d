import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource, EntityManager } from 'typeorm';
import { compileFilter, compileSort } from '../../src/lib/scim/filter-sql.js';
import { parseFilter } from '../../src/lib/scim/filter.js';
import { FILTER_TARGETS } from '../../src/modules/scim-source/links/link-filter.js';
import type { ScimResourceTypeName } from '../../src/modules/scim-source/links/link.entity.js';
import { LinksRepository } from '../../src/modules/scim-source/links/links.repository.js';
import { startTestApp, type TestApp } from '../support/app.js';

/**
 * The link table under load-shaped data: filters compile to SQL that PostgreSQL serves from the
 * per-source indexes, and a source's query never returns another source's rows.
 */
let t: TestApp;
let db: DataSource;
const PER_SOURCE = 20_000;
const sources: Record<'a' | 'b', string> = { a: '', b: '' };

beforeAll(async () => {
  t = await startTestApp();
  db = t.database.dataSource;
  for (const key of ['a', 'b'] as const) {
    const [row] = await db.query(`INSERT INTO scim_sources (slug, name) VALUES ($1, $1) RETURNING id`, [
      `links-${key}`,
    ]);
    sources[key] = row.id;
    await db.query(
      `WITH ins AS (
         INSERT INTO users (user_name, external_id, display_name, attributes)
         SELECT $2 || '.' || i || '@example.com', 'ext-' || i, 'User ' || i, '{}'::jsonb FROM generate_series(1, $3::int) AS i
         RETURNING id, user_name, external_id, display_name)
       INSERT INTO scim_links (source_id, id, resource_type, user_id, payload, user_name, external_id, display_name)
       SELECT $1, id, 'User', id,
              jsonb_build_object('schemas', jsonb_build_array('urn:ietf:params:scim:schemas:core:2.0:User'), 'userName', user_name,
                                 'externalId', external_id, 'displayName', display_name,
                                 'emails', jsonb_build_array(jsonb_build_object('value', user_name, 'type', 'work'))),
              user_name, external_id, display_name
         FROM ins`,
      [sources[key], key, PER_SOURCE],
    );
  }
  await db.query('ANALYZE scim_links');
});
afterAll(async () => t?.close());

/** Runs a repository call while recording the SQL it sends, so the test can EXPLAIN exactly that. */
async function captured<T>(
  work: (repo: LinksRepository) => Promise<T>,
): Promise<{ result: T; sql: string; params: unknown[] }> {
  let sql = '';
  let params: unknown[] = [];
  const recorder = {
    query: (text: string, values: unknown[]) => {
      sql = text;
      params = values;
      return db.query(text, values);
    },
  } as unknown as EntityManager;
  const result = await work(new LinksRepository(recorder));
  return { result, sql, params };
}

async function plan(sql: string, params: unknown[]): Promise<string> {
  const rows: { 'QUERY PLAN': string }[] = await db.query(`EXPLAIN ${sql}`, params);
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

function compiled(source: 'a' | 'b', type: ScimResourceTypeName, filter: string, sortBy?: string) {
  const params: unknown[] = [sources[source]];
  const where = compileFilter(parseFilter(filter), FILTER_TARGETS[type], params);
  const orderBy = sortBy ? compileSort(sortBy, FILTER_TARGETS[type]) : undefined;
  return { where, params, orderBy, offset: 0, limit: 100 };
}

describe('filters on the link table', () => {
  it.each([
    ['userName eq', 'userName eq "A.777@EXAMPLE.COM"', 'scim_links_user_name_key'],
    ['externalId eq', 'externalId eq "ext-777"', 'scim_links_external_id_idx'],
    ['displayName eq', 'displayName eq "user 777"', 'scim_links_display_name_idx'],
    ['emails.value eq', 'emails.value eq "a.777@example.com"', 'scim_links_emails_idx'],
    ['id eq', 'id eq "8b6e4d5f-0000-4000-8000-000000000000"', 'scim_links_pkey'],
  ])('%s is served by an index and finds only the source’s own row', async (_name, filter, index) => {
    const query = compiled('a', 'User', filter);
    const { result, sql, params } = await captured((repo) =>
      repo.list('User', query, { withTotal: true, extras: 'groups' }),
    );
    expect(await plan(sql, params)).toContain(index);
    if (!filter.startsWith('id')) {
      expect(result.map((r) => r.userName)).toEqual(['a.777@example.com']);
      expect(result[0]).toMatchObject({ total: 1, groups: [] });
    }
  });

  it('never returns another source’s rows, whatever the filter', async () => {
    for (const filter of [
      'userName sw "b."',
      'userName pr',
      'not (userName pr)',
      'externalId eq "ext-5" or userName co "b"',
    ]) {
      const query = compiled('a', 'User', filter);
      const rows = await new LinksRepository(db.manager).list('User', { ...query, limit: 1000 });
      expect(rows.every((r) => r.sourceId === sources.a)).toBe(true);
      expect(rows.some((r) => r.userName?.startsWith('b.'))).toBe(false);
    }
    expect(await new LinksRepository(db.manager).count('User', undefined, [sources.b])).toBe(PER_SOURCE);
  });

  it('pages an unfiltered list in id order from a per-source index, without sorting the table', async () => {
    for (const type of ['User', 'Group'] as const) {
      const { sql, params } = await captured((repo) =>
        repo.list(type, { params: [sources.a], offset: 0, limit: 100 }),
      );
      const text = await plan(sql, params);
      expect(text).toMatch(/Index Scan using scim_links_(pkey|type_id_idx)/);
      expect(text).not.toContain('Sort');
    }
  });

  it('resolves member ids to the source’s own objects only', async () => {
    const [mine] = await db.query(`SELECT id FROM scim_links WHERE source_id = $1 LIMIT 1`, [sources.a]);
    const [theirs] = await db.query(`SELECT id FROM scim_links WHERE source_id = $1 LIMIT 1`, [sources.b]);
    const managed = await new LinksRepository(db.manager).managed(sources.a, [
      mine.id,
      theirs.id,
      'not-a-uuid',
    ]);
    expect([...managed.entries()]).toEqual([[mine.id, 'User']]);
  });
});
