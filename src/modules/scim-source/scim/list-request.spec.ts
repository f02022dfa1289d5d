import { describe, expect, it } from 'vitest';
import {
  DEFAULT_COUNT,
  MAX_RESULTS,
  parseListRequest,
  parseSearchRequest,
  queryParameters,
} from './list-request.js';

describe('parseListRequest (RFC 7644 §3.4.2.4 paging edge cases)', () => {
  it.each([
    ['defaults', {}, { startIndex: 1, count: DEFAULT_COUNT }],
    ['startIndex below 1 is 1', { startIndex: '-7' }, { startIndex: 1, count: DEFAULT_COUNT }],
    ['startIndex 0 is 1', { startIndex: '0' }, { startIndex: 1, count: DEFAULT_COUNT }],
    ['a negative count is 0', { count: '-1' }, { startIndex: 1, count: 0 }],
    ['count 0 is kept', { count: '0' }, { startIndex: 1, count: 0 }],
    ['a count over maxResults is clamped', { count: '5000' }, { startIndex: 1, count: MAX_RESULTS }],
    ['numbers from a .search body', { startIndex: 3, count: 2 }, { startIndex: 3, count: 2 }],
    [
      'a huge startIndex is clamped, not passed to SQL',
      { startIndex: '99999999999999999999' },
      { startIndex: 2_147_483_647, count: DEFAULT_COUNT },
    ],
  ])('%s', (_name, input, expected) => {
    expect(parseListRequest(input)).toMatchObject(expected);
  });

  it.each([
    ['a word', { startIndex: 'one' }],
    ['a fraction', { count: '1.5' }],
    ['a number with junk', { count: '10abc' }],
    ['a boolean', { count: true }],
    ['cursor with startIndex', { cursor: '', startIndex: '1' }],
    ['an unknown sortOrder', { sortOrder: 'up' }],
    ['a filter that is not a string', { filter: 3 }],
    ['attributes that are not names', { attributes: [1, 2] }],
  ])('rejects %s with 400 invalidValue', (_name, input) => {
    expect(() => parseListRequest(input)).toThrow(
      expect.objectContaining({ status: 400, scimType: 'invalidValue' }),
    );
  });

  it('parses the filter and keeps cursor, sort and projection', () => {
    const request = parseListRequest({
      FILTER: 'userName eq "a"',
      sortBy: ' userName ',
      sortOrder: 'Descending',
      cursor: '',
      attributes: 'userName,emails',
    });
    expect(request).toMatchObject({
      filter: { type: 'compare', attribute: 'userName', operator: 'eq', value: 'a' },
      sortBy: 'userName',
      sortOrder: 'Descending',
      cursor: '',
      projection: { attributes: 'userName,emails' },
    });
  });

  it('reports a malformed filter as invalidFilter', () => {
    expect(() => parseListRequest({ filter: 'userName eq' })).toThrow(
      expect.objectContaining({ scimType: 'invalidFilter' }),
    );
  });
});

describe('parseSearchRequest', () => {
  it('needs the SearchRequest schema', () => {
    expect(() => parseSearchRequest({ filter: 'userName pr' })).toThrow(
      expect.objectContaining({ scimType: 'invalidSyntax' }),
    );
    expect(() => parseSearchRequest([])).toThrow(expect.objectContaining({ scimType: 'invalidSyntax' }));
    expect(
      parseSearchRequest({ schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], count: 5 })
        .count,
    ).toBe(5);
  });
});

describe('queryParameters', () => {
  it('refuses repeated parameters and ignores prototype names', () => {
    expect(() => queryParameters({ count: ['1', '2'] })).toThrow(
      expect.objectContaining({ scimType: 'invalidValue' }),
    );
    const parsed = queryParameters(JSON.parse('{"__proto__": "x", "count": "1"}'));
    expect(parsed).toEqual({ count: '1' });
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
  });
});
