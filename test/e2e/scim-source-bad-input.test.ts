import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  BULK_REQUEST,
  CORE_GROUP,
  CORE_USER,
  counts,
  createSource,
  ENTERPRISE,
  ERROR,
  filterQuery,
  patchOp,
  scimUser,
  SEARCH_REQUEST,
  type TestSource,
} from '../support/scim-source.js';

/**
 * Bad input never produces a 500 or a half-written object: every row is a SCIM error envelope with
 * a 4xx status, and afterwards the database holds exactly what it held before.
 */
let t: TestApp;
let src: TestSource;
let userId: string;
let groupId: string;

beforeAll(async () => {
  t = await startTestApp();
  src = await createSource(t, 'bad');
  userId = (await src.post('/Users', scimUser('victim@example.com', { title: 'Original' })).expect(201)).body
    .id;
  groupId = (
    await src
      .post('/Groups', { schemas: [CORE_GROUP], displayName: 'Victims', members: [{ value: userId }] })
      .expect(201)
  ).body.id;
});
afterAll(async () => t?.close());

type Row = [
  name: string,
  method: 'get' | 'post' | 'put' | 'patch',
  path: () => string,
  body: unknown,
  status: number,
  scimType?: string,
];

const big = 'x'.repeat(1_100_000);

const rows: Row[] = [
  // malformed JSON and wrong shapes
  [
    'malformed JSON',
    'post',
    () => '/Users',
    '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": ',
    400,
    'invalidSyntax',
  ],
  ['a JSON array body', 'post', () => '/Users', '[]', 400, 'invalidSyntax'],
  ['a JSON string body', 'post', () => '/Users', '"userName"', 400, 'invalidSyntax'],
  ['a JSON null body', 'put', () => `/Users/${userId}`, 'null', 400, 'invalidSyntax'],
  ['an empty body', 'post', () => '/Groups', '', 400],
  // wrong types
  [
    'active as a word',
    'post',
    () => '/Users',
    scimUser('t1@example.com', { active: 'yes' }),
    400,
    'invalidValue',
  ],
  [
    'emails as a string',
    'post',
    () => '/Users',
    scimUser('t2@example.com', { emails: 'a@b.c' }),
    400,
    'invalidValue',
  ],
  [
    'name as a string',
    'post',
    () => '/Users',
    scimUser('t3@example.com', { name: 'Ada' }),
    400,
    'invalidValue',
  ],
  [
    'userName as an object',
    'post',
    () => '/Users',
    { schemas: [CORE_USER], userName: { a: 1 } },
    400,
    'invalidValue',
  ],
  [
    'a missing userName',
    'post',
    () => '/Users',
    { schemas: [CORE_USER], displayName: 'No name' },
    400,
    'invalidValue',
  ],
  [
    'a blank displayName for a group',
    'post',
    () => '/Groups',
    { schemas: [CORE_GROUP], displayName: '  ' },
    400,
    'invalidValue',
  ],
  [
    'members as an object',
    'post',
    () => '/Groups',
    { schemas: [CORE_GROUP], displayName: 'G', members: { value: 'x' } },
    400,
    'invalidValue',
  ],
  [
    'a member without a value',
    'post',
    () => '/Groups',
    { schemas: [CORE_GROUP], displayName: 'G', members: [{ display: 'x' }] },
    400,
    'invalidValue',
  ],
  [
    'schemas as a string',
    'post',
    () => '/Users',
    { schemas: CORE_USER, userName: 't4@example.com' },
    400,
    'invalidSyntax',
  ],
  ['an overlong userName', 'post', () => '/Users', scimUser('u'.repeat(600)), 400, 'invalidValue'],
  [
    'an overlong email address',
    'post',
    () => '/Users',
    scimUser('t5@example.com', { emails: [{ value: `${'e'.repeat(600)}@x` }] }),
    400,
    'invalidValue',
  ],
  // unknown attributes and schemas
  [
    'an unknown attribute',
    'post',
    () => '/Users',
    scimUser('t6@example.com', { favouriteColour: 'blue' }),
    400,
    'invalidValue',
  ],
  [
    'an unknown sub-attribute',
    'post',
    () => '/Users',
    scimUser('t7@example.com', { name: { nickname: 'x' } }),
    400,
    'invalidValue',
  ],
  [
    'an unknown extension with data',
    'post',
    () => '/Users',
    scimUser('t8@example.com', { 'urn:acme:ext:2.0:User': { badge: '1' } }),
    400,
    'invalidValue',
  ],
  [
    'a flattened unknown extension key',
    'post',
    () => '/Users',
    scimUser('t9@example.com', { 'urn:acme:ext:2.0:User:badge': '1' }),
    400,
    'invalidValue',
  ],
  [
    'schemas without the core schema',
    'post',
    () => '/Users',
    { schemas: [ENTERPRISE], userName: 't10@example.com' },
    400,
    'invalidValue',
  ],
  ['no schemas at all', 'post', () => '/Users', { userName: 't11@example.com' }, 400, 'invalidValue'],
  [
    'a PATCH without the PatchOp schema',
    'patch',
    () => `/Users/${userId}`,
    { Operations: [{ op: 'replace', path: 'title', value: 'x' }] },
    400,
    'invalidSyntax',
  ],
  ['a PATCH with no operations', 'patch', () => `/Users/${userId}`, patchOp(), 400, 'invalidSyntax'],
  [
    'a PATCH on an unknown attribute',
    'patch',
    () => `/Users/${userId}`,
    patchOp({ op: 'add', path: 'favouriteColour', value: 'x' }),
    400,
    'invalidPath',
  ],
  [
    'a PATCH with too many operations',
    'patch',
    () => `/Users/${userId}`,
    patchOp(...Array.from({ length: 1001 }, () => ({ op: 'replace', path: 'title', value: 'x' }))),
    400,
    'invalidValue',
  ],
  // oversized bodies
  ['a body over 1 MiB', 'post', () => '/Users', scimUser('t12@example.com', { title: big }), 413],
  [
    'a bulk body over 1 MiB',
    'post',
    () => '/Bulk',
    {
      schemas: [BULK_REQUEST],
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'a', data: scimUser('t13@example.com', { title: big }) },
      ],
    },
    413,
  ],
  [
    'a string over the attribute limit',
    'post',
    () => '/Users',
    scimUser('t14@example.com', { title: 't'.repeat(20_000) }),
    400,
    'invalidValue',
  ],
  // hostile filters
  [
    'a filter nested too deeply',
    'get',
    () => `/Users?${filterQuery(`${'('.repeat(40)}userName pr${')'.repeat(40)}`)}`,
    undefined,
    400,
    'invalidFilter',
  ],
  [
    'a filter with too many terms',
    'get',
    () => `/Users?${filterQuery(Array.from({ length: 80 }, (_, i) => `userName eq "${i}"`).join(' or '))}`,
    undefined,
    400,
    'invalidFilter',
  ],
  [
    'a filter with an unterminated string',
    'get',
    () => `/Users?${filterQuery('userName eq "abc')}`,
    undefined,
    400,
    'invalidFilter',
  ],
  [
    'a filter with a bare SQL fragment',
    'get',
    () => `/Users?${filterQuery("userName eq 'x' OR 1=1")}`,
    undefined,
    400,
    'invalidFilter',
  ],
  [
    'a filter on a prototype name',
    'get',
    () => `/Users?${filterQuery('__proto__ pr')}`,
    undefined,
    400,
    'invalidFilter',
  ],
  [
    'a filter with a bad date',
    'get',
    () => `/Users?${filterQuery('meta.created gt "2020-13-45T99:00:00Z"')}`,
    undefined,
    400,
    'invalidFilter',
  ],
  [
    'a sortBy on an unknown attribute',
    'get',
    () => '/Users?sortBy=constructor',
    undefined,
    400,
    'invalidValue',
  ],
  [
    'a search without its schema',
    'post',
    () => '/Users/.search',
    { filter: 'userName pr' },
    400,
    'invalidSyntax',
  ],
  [
    'a search with a non-string filter',
    'post',
    () => '/Users/.search',
    { schemas: [SEARCH_REQUEST], filter: { userName: 'x' } },
    400,
    'invalidValue',
  ],
  // prototype pollution
  [
    'a __proto__ key in a new user',
    'post',
    () => '/Users',
    '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"p1@example.com","__proto__":{"admin":true}}',
    400,
    'invalidValue',
  ],
  [
    'a __proto__ key inside a value',
    'post',
    () => '/Users',
    '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"p2@example.com","name":{"__proto__":{"admin":true}}}',
    400,
    'invalidValue',
  ],
  [
    'a __proto__ path',
    'patch',
    () => `/Users/${userId}`,
    patchOp({ op: 'add', path: '__proto__.admin', value: true }),
    400,
    'invalidPath',
  ],
  [
    'a constructor.prototype path',
    'patch',
    () => `/Users/${userId}`,
    patchOp({ op: 'replace', path: 'constructor.prototype', value: {} }),
    400,
    'invalidPath',
  ],
  [
    'a __proto__ key in a path-less value',
    'patch',
    () => `/Users/${userId}`,
    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":{"__proto__":{"admin":true}}}]}`,
    400,
    'invalidValue',
  ],
  [
    'a __proto__ member value key',
    'patch',
    () => `/Groups/${groupId}`,
    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"x","__proto__":{}}]}]}`,
    400,
    'invalidValue',
  ],
  [
    'a __proto__ bulk operation',
    'post',
    () => '/Bulk',
    `{"schemas":["${BULK_REQUEST}"],"Operations":[{"method":"POST","path":"/Users","bulkId":"a","data":{"schemas":["${CORE_USER}"],"userName":"p3@example.com","__proto__":{"x":1}}}]}`,
    200,
  ],
  // invalid paging
  ['startIndex that is not a number', 'get', () => '/Users?startIndex=one', undefined, 400, 'invalidValue'],
  ['count that is not an integer', 'get', () => '/Users?count=10.5', undefined, 400, 'invalidValue'],
  ['count given twice', 'get', () => '/Users?count=1&count=2', undefined, 400, 'invalidValue'],
  [
    'a cursor that is not ours',
    'get',
    () => '/Users?cursor=eyJxIjoiYWJjIn0',
    undefined,
    400,
    'invalidCursor',
  ],
  [
    'a cursor together with startIndex',
    'get',
    () => '/Users?cursor=&startIndex=2',
    undefined,
    400,
    'invalidValue',
  ],
  [
    'a sortOrder that is not one',
    'get',
    () => '/Users?sortBy=userName&sortOrder=up',
    undefined,
    400,
    'invalidValue',
  ],
  // headers
  [
    'an If-Match that names no version',
    'put',
    () => `/Users/${userId}`,
    scimUser('victim@example.com', { title: 'Changed' }),
    412,
  ],
];

describe('bad input is a 4xx SCIM error and writes nothing', () => {
  it.each(rows)('%s', async (_name, method, path, body, status, scimType) => {
    const before = await counts(t);
    const snapshot = await src.get(`/Users/${userId}`).expect(200);
    let req = src.scim(method, path());
    if (body !== undefined)
      req = req
        .set('Content-Type', 'application/scim+json')
        .send(typeof body === 'string' ? body : JSON.stringify(body));
    if (_name.startsWith('an If-Match')) req = req.set('If-Match', 'banana');
    const res = await req;
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
    if (status === 200) {
      // Bulk reports per operation: the operation failed, the request did not.
      expect(res.body.Operations[0]).toMatchObject({
        status: '400',
        response: { schemas: [ERROR], scimType: 'invalidValue' },
      });
    } else {
      expect(res.body).toMatchObject({
        schemas: [ERROR],
        status: String(status),
        detail: expect.any(String),
      });
      if (scimType) expect(res.body.scimType).toBe(scimType);
    }
    expect(await counts(t)).toEqual(before);
    expect((await src.get(`/Users/${userId}`).expect(200)).body).toEqual(snapshot.body);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('accepts a foreign schema URN that carries no attributes (Entra lists its own)', async () => {
    await src
      .post('/Groups', {
        schemas: [CORE_GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group'],
        displayName: 'Tolerated',
      })
      .expect(201);
  });

  it('answers unsupported methods and unknown routes under /scim with the envelope', async () => {
    for (const res of [
      await src.scim('patch', '/Users'),
      await src.scim('delete', '/Groups'),
      await t.http.get('/scim/bad/v3/Users'),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '404' });
    }
  });
});
