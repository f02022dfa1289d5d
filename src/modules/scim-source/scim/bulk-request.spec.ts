import { describe, expect, it } from 'vitest';
import { parseBulkRequest } from './bulk.service.js';

const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

describe('parseBulkRequest (RFC 7644 §3.7)', () => {
  it('collects the bulkIds each operation refers to, in paths and data', () => {
    const { operations, failOnErrors } = parseBulkRequest({
      schemas: [BULK],
      failOnErrors: 2,
      Operations: [
        {
          method: 'post',
          path: '/Groups',
          bulkId: 'g',
          data: { displayName: 'G', members: [{ value: 'bulkId:u' }] },
        },
        { method: 'PATCH', path: '/Users/bulkId:u', data: { Operations: [] } },
        { method: 'DELETE', path: '/Users/abc' },
      ],
    });
    expect(failOnErrors).toBe(2);
    expect(operations.map((o) => [o.method, [...o.references]])).toEqual([
      ['POST', ['u']],
      ['PATCH', ['u']],
      ['DELETE', []],
    ]);
  });

  it.each([
    ['no schema', { Operations: [{ method: 'DELETE', path: '/Users/x' }] }, 400],
    ['no operations', { schemas: [BULK], Operations: [] }, 400],
    ['an unknown method', { schemas: [BULK], Operations: [{ method: 'GET', path: '/Users' }] }, 400],
    [
      'a POST without bulkId',
      { schemas: [BULK], Operations: [{ method: 'POST', path: '/Users', data: {} }] },
      400,
    ],
    [
      'a duplicate bulkId',
      {
        schemas: [BULK],
        Operations: [
          { method: 'POST', path: '/Users', bulkId: 'a', data: {} },
          { method: 'POST', path: '/Users', bulkId: 'a', data: {} },
        ],
      },
      400,
    ],
    ['a PUT without data', { schemas: [BULK], Operations: [{ method: 'PUT', path: '/Users/x' }] }, 400],
    [
      'failOnErrors 0',
      { schemas: [BULK], failOnErrors: 0, Operations: [{ method: 'DELETE', path: '/Users/x' }] },
      400,
    ],
    [
      'more operations than advertised',
      {
        schemas: [BULK],
        Operations: Array.from({ length: 1001 }, () => ({ method: 'DELETE', path: '/Users/x' })),
      },
      413,
    ],
  ])('refuses %s', (_name, body, status) => {
    expect(() => parseBulkRequest(body)).toThrow(expect.objectContaining({ status }));
  });
});
