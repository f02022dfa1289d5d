import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  BULK_REQUEST,
  changeEvents,
  CORE_GROUP,
  CORE_USER,
  createSource,
  directoryUser,
  ENTERPRISE,
  ERROR,
  filterQuery,
  LIST,
  patchOp,
  scimGroup,
  scimUser,
  SEARCH_REQUEST,
  type TestSource,
} from '../support/scim-source.js';

/** RFC 7643 / 7644 (and RFC 9865 cursors) behaviour of the inbound SCIM server, rule by rule. */
let t: TestApp;
let src: TestSource;
beforeAll(async () => {
  t = await startTestApp();
  src = await createSource(t, 'rfc');
});
afterAll(async () => t?.close());

describe('discovery', () => {
  it('tells the truth in ServiceProviderConfig', async () => {
    const res = await src.get('/ServiceProviderConfig').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(res.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true },
      bulk: { supported: true, maxOperations: 1000, maxPayloadSize: 1_048_576 },
      filter: { supported: true, maxResults: 1000 },
      changePassword: { supported: false },
      sort: { supported: true },
      etag: { supported: true },
      pagination: {
        cursor: true,
        index: true,
        defaultPaginationMethod: 'index',
        defaultPageSize: 100,
        maxPageSize: 1000,
      },
      authenticationSchemes: [expect.objectContaining({ type: 'oauthbearertoken', primary: true })],
      meta: {
        resourceType: 'ServiceProviderConfig',
        location: expect.stringMatching(/\/scim\/rfc\/v2\/ServiceProviderConfig$/),
      },
    });
  });

  it('lists resource types and schemas, and serves each by name or URN', async () => {
    const types = await src.get('/ResourceTypes').expect(200);
    expect(types.body).toMatchObject({ schemas: [LIST], totalResults: 2 });
    expect(types.body.Resources.map((r: { id: string }) => r.id)).toEqual(['User', 'Group']);
    const user = await src.get('/ResourceTypes/User').expect(200);
    expect(user.body).toMatchObject({
      endpoint: '/Users',
      schema: CORE_USER,
      schemaExtensions: [{ schema: ENTERPRISE, required: false }],
    });
    const schemas = await src.get('/Schemas').expect(200);
    expect(schemas.body.Resources.map((s: { id: string }) => s.id)).toEqual([
      CORE_USER,
      ENTERPRISE,
      CORE_GROUP,
    ]);
    const enterprise = await src.get(`/Schemas/${ENTERPRISE}`).expect(200);
    expect(enterprise.body.attributes.map((a: { name: string }) => a.name)).toContain('manager');
    await src.get('/Schemas/urn:nope').expect(404);
    await src.get('/ResourceTypes/Nope').expect(404);
  });

  it('refuses filters on discovery endpoints with 403', async () => {
    const res = await src.get(`/Schemas?${filterQuery('id eq "x"')}`).expect(403);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '403' });
  });

  it('answers /Me with 501', async () => {
    await src.get('/Me').expect(501);
  });
});

describe('create, read, replace, delete', () => {
  it('creates with 201, Location = meta.location and a weak ETag = meta.version', async () => {
    const res = await src
      .post('/Users', scimUser('create@example.com', { displayName: 'Create' }))
      .expect(201);
    expect(res.headers.location).toBe(res.body.meta.location);
    expect(res.headers.etag).toBe('W/"1"');
    expect(res.body.meta).toEqual({
      resourceType: 'User',
      created: expect.any(String),
      lastModified: res.body.meta.created,
      location: expect.stringMatching(new RegExp(`/scim/rfc/v2/Users/${res.body.id}$`)),
      version: 'W/"1"',
    });
  });

  it('answers If-None-Match with 304 and a stale If-Match with 412', async () => {
    const created = await src.post('/Users', scimUser('etag@example.com')).expect(201);
    const id = created.body.id as string;
    const read = await src.get(`/Users/${id}`).expect(200);
    expect(read.headers.etag).toBe('W/"1"');
    await src.get(`/Users/${id}`).set('If-None-Match', 'W/"1"').expect(304);
    await src.get(`/Users/${id}`).set('If-None-Match', 'W/"7"').expect(200);
    const updated = await src
      .put(`/Users/${id}`, scimUser('etag@example.com', { title: 'v2' }))
      .set('If-Match', 'W/"1"')
      .expect(200);
    expect(updated.headers.etag).toBe('W/"2"');
    const stale = await src
      .put(`/Users/${id}`, scimUser('etag@example.com', { title: 'v3' }))
      .set('If-Match', 'W/"1"')
      .expect(412);
    expect(stale.body).toMatchObject({ schemas: [ERROR], status: '412' });
    await src
      .patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'x' }))
      .set('If-Match', 'W/"1"')
      .expect(412);
    await src.delete(`/Users/${id}`).set('If-Match', 'W/"1"').expect(412);
    await src
      .patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'x' }))
      .set('If-Match', '*')
      .expect(200);
  });

  it('replaces with PUT: attributes left out are cleared', async () => {
    const created = await src
      .post(
        '/Users',
        scimUser('put@example.com', {
          title: 'Engineer',
          nickName: 'P',
          emails: [{ value: 'put@example.com', type: 'work' }],
        }),
      )
      .expect(201);
    const res = await src
      .put(`/Users/${created.body.id}`, scimUser('put@example.com', { title: 'Manager' }))
      .expect(200);
    expect(res.body.title).toBe('Manager');
    expect(res.body).not.toHaveProperty('nickName');
    expect(res.body).not.toHaveProperty('emails');
    const row = (await directoryUser(t, created.body.id))!;
    expect(row.attributes).toEqual({ title: 'Manager' });
  });

  it('does not write a new version when a PUT or PATCH changes nothing', async () => {
    const created = await src.post('/Users', scimUser('same@example.com', { title: 'Same' })).expect(201);
    const put = await src
      .put(`/Users/${created.body.id}`, scimUser('same@example.com', { title: 'Same' }))
      .expect(200);
    expect(put.headers.etag).toBe('W/"1"');
    const patch = await src
      .patch(`/Users/${created.body.id}`, patchOp({ op: 'replace', path: 'title', value: 'Same' }))
      .expect(200);
    expect(patch.headers.etag).toBe('W/"1"');
    expect((await changeEvents(t, created.body.id)).map((e) => e.kind)).toEqual(['created']);
  });

  it('answers 404 in the error envelope for unknown ids, malformed ids and unknown endpoints', async () => {
    for (const path of [
      '/Users/8b6e4d5f-0000-4000-8000-000000000000',
      '/Users/not-a-uuid',
      '/Groups/x',
      '/Widgets',
    ]) {
      const res = await src.get(path).expect(404);
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '404' });
    }
  });
});

describe('delete behaviour', () => {
  it('`delete` removes the directory user', async () => {
    const created = await src.post('/Users', scimUser('gone@example.com')).expect(201);
    await src.delete(`/Users/${created.body.id}`).expect(204);
    expect(await directoryUser(t, created.body.id)).toBeUndefined();
  });

  it('`deactivate` keeps the directory user inactive, hides it, and brings it back on re-create', async () => {
    const soft = await createSource(t, 'soft', { deleteBehavior: 'deactivate' });
    const created = await soft.post('/Users', scimUser('keep@example.com', { title: 'Before' })).expect(201);
    const id = created.body.id as string;
    await soft.delete(`/Users/${id}`).expect(204);
    expect(await directoryUser(t, id)).toMatchObject({ active: false, user_name: 'keep@example.com' });
    await soft.get(`/Users/${id}`).expect(404);
    expect(
      (await soft.get(`/Users?${filterQuery('userName eq "keep@example.com"')}`).expect(200)).body
        .totalResults,
    ).toBe(0);
    await soft.delete(`/Users/${id}`).expect(404);

    const again = await soft.post('/Users', scimUser('keep@example.com', { title: 'After' })).expect(201);
    expect(again.body.id).toBe(id);
    expect(again.body.title).toBe('After');
    expect(await directoryUser(t, id)).toMatchObject({ active: true, attributes: { title: 'After' } });
  });
});

describe('uniqueness', () => {
  it('is 409 uniqueness for a userName the source already uses, in any case', async () => {
    await src.post('/Users', scimUser('dup@example.com')).expect(201);
    const res = await src.post('/Users', scimUser('DUP@example.com')).expect(409);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'uniqueness' });
    expect(res.body.detail).toContain('already exists in this source');
  });

  it('is 409 uniqueness naming no one when an admin-managed user holds the userName', async () => {
    await t.http
      .post('/api/v1/users')
      .set('Authorization', t.auth)
      .send({ userName: 'admin-owned@example.com' })
      .expect(201);
    const before = await countRows('users');
    const res = await src.post('/Users', scimUser('Admin-Owned@example.com')).expect(409);
    expect(res.body.scimType).toBe('uniqueness');
    expect(res.body.detail).toMatch(/belongs to another source or to an admin-managed user/);
    expect(await countRows('users')).toBe(before);
  });

  it('is 409 on a PUT or PATCH that takes another user’s userName', async () => {
    await src.post('/Users', scimUser('first@example.com')).expect(201);
    const second = await src.post('/Users', scimUser('second@example.com')).expect(201);
    const res = await src
      .patch(
        `/Users/${second.body.id}`,
        patchOp({ op: 'replace', path: 'userName', value: 'FIRST@example.com' }),
      )
      .expect(409);
    expect(res.body.scimType).toBe('uniqueness');
    await src.put(`/Users/${second.body.id}`, scimUser('admin-owned@example.com')).expect(409);
    expect((await src.get(`/Users/${second.body.id}`).expect(200)).body.userName).toBe('second@example.com');
  });
});

describe('filters (compiled to SQL over the source’s own objects)', () => {
  let filt: TestSource;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    filt = await createSource(t, 'filters');
    const people = [
      scimUser('ada@analytical.org', {
        externalId: 'EXT-ada',
        displayName: 'Ada Lovelace',
        title: 'Countess',
        active: true,
        name: { givenName: 'Ada', familyName: 'Lovelace' },
        emails: [
          { value: 'ada@work.example', type: 'work', primary: true },
          { value: 'ada@home.example', type: 'home' },
        ],
        [ENTERPRISE]: { department: 'Engines', employeeNumber: '1815' },
      }),
      scimUser('grace@navy.mil', {
        externalId: 'ext-grace',
        displayName: 'Grace Hopper',
        active: true,
        name: { givenName: 'Grace', familyName: 'Hopper' },
        emails: [{ value: 'grace@navy.mil', type: 'work' }],
        [ENTERPRISE]: { department: 'Compilers', employeeNumber: '1906' },
      }),
      scimUser('alan@bletchley.uk', {
        displayName: 'Alan Turing',
        active: false,
        name: { givenName: 'Alan', familyName: 'Turing' },
        emails: [{ value: 'alan@home.example', type: 'home' }],
      }),
    ];
    for (const person of people) {
      const res = await filt.post('/Users', person).expect(201);
      ids[person.userName] = res.body.id;
    }
    const group = await filt
      .post('/Groups', scimGroup('Pioneers', { members: [{ value: ids['ada@analytical.org'] }] }))
      .expect(201);
    ids.group = group.body.id;
  });

  const names = async (filter: string): Promise<string[]> => {
    const res = await filt.get(`/Users?${filterQuery(filter)}&sortBy=userName`).expect(200);
    return res.body.Resources.map((r: { userName: string }) => r.userName);
  };

  it.each([
    ['eq is case-insensitive for userName', 'userName eq "ADA@ANALYTICAL.ORG"', ['ada@analytical.org']],
    ['caseExact externalId is compared exactly', 'externalId eq "ext-ada"', []],
    ['caseExact externalId matches its own case', 'externalId eq "EXT-ada"', ['ada@analytical.org']],
    ['ne', 'userName ne "ada@analytical.org"', ['alan@bletchley.uk', 'grace@navy.mil']],
    ['co', 'displayName co "LOVE"', ['ada@analytical.org']],
    ['sw', 'userName sw "GR"', ['grace@navy.mil']],
    ['ew', 'userName ew ".uk"', ['alan@bletchley.uk']],
    ['pr', 'externalId pr', ['ada@analytical.org', 'grace@navy.mil']],
    ['gt on strings', 'userName gt "b"', ['grace@navy.mil']],
    ['le on strings', 'userName le "alan@bletchley.uk"', ['ada@analytical.org', 'alan@bletchley.uk']],
    ['boolean eq', 'active eq false', ['alan@bletchley.uk']],
    ['and', 'active eq true and name.familyName eq "hopper"', ['grace@navy.mil']],
    [
      'or with parentheses and not',
      '(title pr or userName sw "alan") and not (active eq false)',
      ['ada@analytical.org'],
    ],
    ['sub-attribute', 'name.givenName eq "Grace"', ['grace@navy.mil']],
    [
      'multi-valued sub-attribute',
      'emails.value ew "home.example"',
      ['ada@analytical.org', 'alan@bletchley.uk'],
    ],
    ['multi-valued with implied value', 'emails co "navy"', ['grace@navy.mil']],
    ['value path with and', 'emails[type eq "work" and value co "@work"]', ['ada@analytical.org']],
    ['value path requires the same element', 'emails[type eq "work" and value co "home"]', []],
    ['URN-qualified extension attribute', `${ENTERPRISE}:department eq "Compilers"`, ['grace@navy.mil']],
    [
      'URN-qualified, case-insensitive names',
      `${ENTERPRISE.toLowerCase()}:EMPLOYEENUMBER eq "1815"`,
      ['ada@analytical.org'],
    ],
    ['case-insensitive attribute names and operators', 'USERNAME EQ "grace@navy.mil"', ['grace@navy.mil']],
    [
      'meta.lastModified gt',
      'meta.lastModified gt "2000-01-01T00:00:00Z"',
      ['ada@analytical.org', 'alan@bletchley.uk', 'grace@navy.mil'],
    ],
    ['meta.resourceType', 'meta.resourceType eq "Group"', []],
    ['schemas', `schemas eq "${ENTERPRISE}"`, ['ada@analytical.org', 'grace@navy.mil']],
    ['eq null means absent', 'title eq null', ['alan@bletchley.uk', 'grace@navy.mil']],
    ['a hostile-looking string is only a value', 'userName eq "x\' OR 1=1; DROP TABLE users; --"', []],
  ])('%s: %s', async (_name, filter, expected) => {
    expect(await names(filter)).toEqual(expected);
  });

  it('filters by id and by group membership', async () => {
    expect(await names(`id eq "${ids['grace@navy.mil']}"`)).toEqual(['grace@navy.mil']);
    expect(await names('id eq "not-a-uuid"')).toEqual([]);
    expect(await names(`groups.value eq "${ids.group}"`)).toEqual(['ada@analytical.org']);
    const groups = await filt
      .get(`/Groups?${filterQuery(`members.value eq "${ids['ada@analytical.org']}"`)}`)
      .expect(200);
    expect(groups.body.Resources.map((g: { id: string }) => g.id)).toEqual([ids.group]);
  });

  it.each([
    ['unknown attribute', 'nickname2 eq "x"'],
    ['malformed', 'userName eq'],
    ['unbalanced value path', 'emails[type eq "work"'],
    ['wrong value type', 'active eq "maybe"'],
    ['ordering on a boolean', 'active gt true'],
    ['password cannot be filtered', 'password eq "x"'],
    ['complex without sub-attribute', 'name eq "x"'],
    ['too long', `userName eq "${'x'.repeat(5000)}"`],
  ])('rejects %s with 400 invalidFilter', async (_name, filter) => {
    const res = await filt.get(`/Users?${filterQuery(filter)}`).expect(400);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidFilter' });
  });

  it('uses the per-source userName index', async () => {
    const plan: { 'QUERY PLAN': string }[] = await t.database.dataSource.query(
      `EXPLAIN SELECT id FROM scim_links l WHERE l.source_id = $1 AND l.resource_type = 'User' AND l.deleted_at IS NULL AND lower(l.user_name) = lower($2)`,
      [filt.id, 'ada@analytical.org'],
    );
    expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toContain('scim_links_user_name_key');
  });

  it('sorts ascending and descending, by core and extension attributes', async () => {
    const sorted = async (query: string) =>
      (await filt.get(`/Users?${query}`).expect(200)).body.Resources.map(
        (r: { userName: string }) => r.userName,
      );
    expect(await sorted('sortBy=userName')).toEqual([
      'ada@analytical.org',
      'alan@bletchley.uk',
      'grace@navy.mil',
    ]);
    expect(await sorted('sortBy=userName&sortOrder=descending')).toEqual([
      'grace@navy.mil',
      'alan@bletchley.uk',
      'ada@analytical.org',
    ]);
    expect(await sorted('sortBy=name.familyName')).toEqual([
      'grace@navy.mil',
      'ada@analytical.org',
      'alan@bletchley.uk',
    ]);
    expect(await sorted(`sortBy=${ENTERPRISE}:employeeNumber&sortOrder=descending`)).toEqual([
      'alan@bletchley.uk',
      'grace@navy.mil',
      'ada@analytical.org',
    ]);
    const bad = await filt.get('/Users?sortBy=nope').expect(400);
    expect(bad.body.scimType).toBe('invalidValue');
    await filt.get('/Users?sortBy=userName&sortOrder=sideways').expect(400);
  });

  it('projects with attributes and excludedAttributes (id and schemas always returned)', async () => {
    const only = await filt
      .get(`/Users/${ids['ada@analytical.org']}?attributes=userName,name.givenName,${ENTERPRISE}:department`)
      .expect(200);
    expect(only.body).toEqual({
      schemas: [CORE_USER, ENTERPRISE],
      id: ids['ada@analytical.org'],
      userName: 'ada@analytical.org',
      name: { givenName: 'Ada' },
      [ENTERPRISE]: { department: 'Engines' },
    });
    const without = await filt
      .get(`/Users/${ids['ada@analytical.org']}?excludedAttributes=emails,meta,groups,${ENTERPRISE}`)
      .expect(200);
    expect(Object.keys(without.body).sort()).toEqual([
      'active',
      'displayName',
      'externalId',
      'id',
      'name',
      'schemas',
      'title',
      'userName',
    ]);
    const list = await filt.get(`/Users?attributes=userName&${filterQuery('active eq true')}`).expect(200);
    for (const resource of list.body.Resources)
      expect(Object.keys(resource).sort()).toEqual(['id', 'schemas', 'userName']);
  });

  it('searches with POST /.search', async () => {
    const res = await filt
      .post('/Users/.search', {
        schemas: [SEARCH_REQUEST],
        filter: 'emails[type eq "home"]',
        attributes: ['userName'],
        sortBy: 'userName',
        sortOrder: 'descending',
        startIndex: 1,
        count: 1,
      })
      .expect(200);
    expect(res.body).toMatchObject({ totalResults: 2, itemsPerPage: 1, startIndex: 1 });
    expect(res.body.Resources).toEqual([
      { schemas: [CORE_USER], id: ids['alan@bletchley.uk'], userName: 'alan@bletchley.uk' },
    ]);
    await filt.post('/Users/.search', { filter: 'userName pr' }).expect(400);
    const groups = await filt
      .post('/Groups/.search', { schemas: [SEARCH_REQUEST], filter: 'displayName eq "pioneers"' })
      .expect(200);
    expect(groups.body.totalResults).toBe(1);
  });
});

describe('paging', () => {
  let pg: TestSource;
  const all: string[] = [];
  beforeAll(async () => {
    pg = await createSource(t, 'paging');
    for (let i = 0; i < 7; i++) {
      const res = await pg.post('/Users', scimUser(`page${i}@example.com`)).expect(201);
      all.push(res.body.id);
    }
    all.sort();
  });

  const page = async (query: string) => (await pg.get(`/Users?${query}`).expect(200)).body;

  it.each([
    ['startIndex and count', 'startIndex=3&count=2', { startIndex: 3, itemsPerPage: 2, slice: [2, 4] }],
    [
      'startIndex below 1 means 1',
      'startIndex=-4&count=2',
      { startIndex: 1, itemsPerPage: 2, slice: [0, 2] },
    ],
    ['startIndex 0 means 1', 'startIndex=0&count=3', { startIndex: 1, itemsPerPage: 3, slice: [0, 3] }],
    ['a negative count means 0', 'count=-3', { startIndex: 1, itemsPerPage: 0, slice: [0, 0] }],
    ['count=0 returns only totalResults', 'count=0', { startIndex: 1, itemsPerPage: 0, slice: [0, 0] }],
    ['past the end is empty', 'startIndex=50&count=5', { startIndex: 50, itemsPerPage: 0, slice: [0, 0] }],
    ['the last partial page', 'startIndex=6&count=5', { startIndex: 6, itemsPerPage: 2, slice: [5, 7] }],
    [
      'a count over the maximum is clamped',
      'count=100000',
      { startIndex: 1, itemsPerPage: 7, slice: [0, 7] },
    ],
  ])('%s', async (_name, query, expected) => {
    const body = await page(query);
    expect(body).toMatchObject({
      schemas: [LIST],
      totalResults: 7,
      startIndex: expected.startIndex,
      itemsPerPage: expected.itemsPerPage,
    });
    expect(body.Resources.map((r: { id: string }) => r.id)).toEqual(all.slice(...expected.slice));
  });

  it.each([
    ['startIndex=abc'],
    ['count=1.5'],
    ['count=2&count=3'],
    ['startIndex=1&cursor='],
    ['cursor=bm9wZQ'],
  ])('rejects %s with 400', async (query) => {
    const res = await pg.get(`/Users?${query}`).expect(400);
    expect(res.body.schemas).toEqual([ERROR]);
    expect(['invalidValue', 'invalidCursor']).toContain(res.body.scimType);
  });

  it('pages with RFC 9865 cursors until nextCursor is absent', async () => {
    const seen: string[] = [];
    let cursor = '';
    for (let guard = 0; guard < 10; guard++) {
      const body = await page(`count=3&cursor=${encodeURIComponent(cursor)}`);
      expect(body.totalResults).toBe(7);
      expect(body).not.toHaveProperty('startIndex');
      seen.push(...body.Resources.map((r: { id: string }) => r.id));
      if (!body.nextCursor) break;
      cursor = body.nextCursor;
    }
    expect(seen).toEqual(all);
    const sorted: string[] = [];
    cursor = '';
    for (let guard = 0; guard < 10; guard++) {
      const body = await page(
        `count=4&sortBy=userName&sortOrder=descending&cursor=${encodeURIComponent(cursor)}`,
      );
      sorted.push(...body.Resources.map((r: { userName: string }) => r.userName));
      if (!body.nextCursor) break;
      cursor = body.nextCursor;
    }
    expect(sorted).toEqual(Array.from({ length: 7 }, (_, i) => `page${6 - i}@example.com`));
  });

  it('refuses a cursor used with another query (400 invalidCursor)', async () => {
    const first = await page('count=2&cursor=');
    const res = await pg
      .get(`/Users?count=2&sortBy=userName&cursor=${encodeURIComponent(first.nextCursor)}`)
      .expect(400);
    expect(res.body.scimType).toBe('invalidCursor');
  });
});

describe('PATCH', () => {
  let userId: string;
  beforeAll(async () => {
    const res = await src
      .post(
        '/Users',
        scimUser('patch@example.com', {
          emails: [
            { value: 'a@work.example', type: 'work', primary: true },
            { value: 'b@home.example', type: 'home' },
          ],
          phoneNumbers: [{ value: '+1 555', type: 'work' }],
        }),
      )
      .expect(201);
    userId = res.body.id;
  });

  const patch = (...ops: Record<string, unknown>[]) => src.patch(`/Users/${userId}`, patchOp(...ops));

  it('adds and replaces with and without a path', async () => {
    await patch({ op: 'add', path: 'nickName', value: 'Pat' }).expect(200);
    const res = await patch(
      { op: 'add', value: { title: 'Boss', 'name.givenName': 'Pat' } },
      { op: 'replace', path: 'nickName', value: 'Patty' },
    ).expect(200);
    expect(res.body).toMatchObject({ nickName: 'Patty', title: 'Boss', name: { givenName: 'Pat' } });
  });

  it('adds to a multi-valued attribute, keeping one primary', async () => {
    const res = await patch({
      op: 'add',
      path: 'emails',
      value: [{ value: 'c@work.example', type: 'work', primary: true }],
    }).expect(200);
    expect(res.body.emails.filter((e: { primary?: boolean }) => e.primary)).toEqual([
      { value: 'c@work.example', type: 'work', primary: true },
    ]);
    expect(res.body.emails).toHaveLength(3);
  });

  it('replaces through a value filter and removes by filter', async () => {
    const replaced = await patch({
      op: 'replace',
      path: 'emails[type eq "home"].value',
      value: 'home@home.example',
    }).expect(200);
    expect(replaced.body.emails).toContainEqual({ value: 'home@home.example', type: 'home' });
    const removed = await patch({ op: 'remove', path: 'emails[value eq "a@work.example"]' }).expect(200);
    expect(removed.body.emails.map((e: { value: string }) => e.value)).toEqual([
      'home@home.example',
      'c@work.example',
    ]);
    const gone = await patch({ op: 'remove', path: 'phoneNumbers' }).expect(200);
    expect(gone.body).not.toHaveProperty('phoneNumbers');
  });

  it.each([
    [
      'read-only id',
      { op: 'replace', path: 'id', value: '11111111-1111-4111-8111-111111111111' },
      'mutability',
    ],
    [
      'read-only groups',
      { op: 'add', path: 'groups', value: [{ value: '11111111-1111-4111-8111-111111111111' }] },
      'mutability',
    ],
    ['required userName', { op: 'remove', path: 'userName' }, 'mutability'],
    ['unknown path', { op: 'replace', path: 'favouriteColour', value: 'blue' }, 'invalidPath'],
    ['remove without path', { op: 'remove' }, 'noTarget'],
    ['wrong type', { op: 'replace', path: 'active', value: 'perhaps' }, 'invalidValue'],
    [
      'two primaries',
      {
        op: 'add',
        path: 'emails',
        value: [
          { value: 'x@x', primary: true },
          { value: 'y@y', primary: true },
        ],
      },
      'invalidValue',
    ],
    ['unknown op', { op: 'copy', path: 'title', value: 'x' }, 'invalidSyntax'],
  ])('refuses %s and writes nothing', async (_name, op, scimType) => {
    const before = await src.get(`/Users/${userId}`).expect(200);
    const res = await patch(op).expect(400);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '400', scimType });
    const after = await src.get(`/Users/${userId}`).expect(200);
    expect(after.body).toEqual(before.body);
  });

  it('is atomic: a failing operation undoes the ones before it', async () => {
    const before = await src.get(`/Users/${userId}`).expect(200);
    await patch(
      { op: 'replace', path: 'title', value: 'Changed' },
      { op: 'replace', path: 'id', value: 'x' },
    ).expect(400);
    expect((await src.get(`/Users/${userId}`).expect(200)).body).toEqual(before.body);
  });
});

describe('groups and structural membership', () => {
  let members: string[];
  let groupId: string;
  beforeAll(async () => {
    members = [];
    for (let i = 0; i < 5; i++)
      members.push((await src.post('/Users', scimUser(`member${i}@example.com`)).expect(201)).body.id);
    groupId = (await src.post('/Groups', scimGroup('Team', { members: [{ value: members[0] }] })).expect(201))
      .body.id;
  });

  const memberIds = async () =>
    ((await src.get(`/Groups/${groupId}`).expect(200)).body.members ?? [])
      .map((m: { value: string }) => m.value)
      .sort();

  it('adds a set of members with one outbox event, and answers 204 (or 200 when attributes are asked for)', async () => {
    const before = (await changeEvents(t, groupId)).length;
    await src
      .patch(
        `/Groups/${groupId}`,
        patchOp({ op: 'add', path: 'members', value: members.slice(1, 4).map((value) => ({ value })) }),
      )
      .expect(204);
    const events = (await changeEvents(t, groupId)).slice(before);
    expect(events).toEqual([
      expect.objectContaining({
        kind: 'members_added',
        detail: { userIds: expect.any(Array), groupIds: [] },
      }),
    ]);
    expect((events[0]!.detail!.userIds as string[]).sort()).toEqual(members.slice(1, 4).sort());
    const shown = await src
      .patch(
        `/Groups/${groupId}?attributes=members`,
        patchOp({ op: 'add', path: 'members', value: [{ value: members[4] }] }),
      )
      .expect(200);
    expect(shown.body.members.map((m: { value: string }) => m.value).sort()).toEqual([...members].sort());
    expect(shown.body).not.toHaveProperty('displayName');
  });

  it('changes the group ETag when membership changes', async () => {
    const before = (await src.get(`/Groups/${groupId}`).expect(200)).headers.etag;
    await src
      .patch(`/Groups/${groupId}`, patchOp({ op: 'remove', path: `members[value eq "${members[4]}"]` }))
      .expect(204);
    const after = (await src.get(`/Groups/${groupId}`).expect(200)).headers.etag;
    expect(after).not.toBe(before);
  });

  it('replaces the membership with PATCH replace and with PUT', async () => {
    await src
      .patch(
        `/Groups/${groupId}`,
        patchOp({ op: 'replace', path: 'members', value: [{ value: members[1] }, { value: members[2] }] }),
      )
      .expect(204);
    expect(await memberIds()).toEqual([members[1], members[2]].sort());
    await src.put(`/Groups/${groupId}`, scimGroup('Team', { members: [{ value: members[3] }] })).expect(200);
    expect(await memberIds()).toEqual([members[3]]);
    await src.patch(`/Groups/${groupId}`, patchOp({ op: 'remove', path: 'members' })).expect(204);
    expect(await memberIds()).toEqual([]);
  });

  it('nests groups, and refuses cycles and unknown members', async () => {
    const inner = (await src.post('/Groups', scimGroup('Inner')).expect(201)).body.id as string;
    await src
      .patch(
        `/Groups/${groupId}`,
        patchOp({ op: 'add', path: 'members', value: [{ value: inner, type: 'Group' }] }),
      )
      .expect(204);
    const cycle = await src
      .patch(`/Groups/${inner}`, patchOp({ op: 'add', path: 'members', value: [{ value: groupId }] }))
      .expect(400);
    expect(cycle.body.scimType).toBe('invalidValue');
    const self = await src
      .patch(`/Groups/${groupId}`, patchOp({ op: 'add', path: 'members', value: [{ value: groupId }] }))
      .expect(400);
    expect(self.body.scimType).toBe('invalidValue');
    const unknown = await src
      .patch(
        `/Groups/${groupId}`,
        patchOp({ op: 'add', path: 'members', value: [{ value: '8b6e4d5f-0000-4000-8000-000000000000' }] }),
      )
      .expect(400);
    expect(unknown.body).toMatchObject({ scimType: 'invalidValue' });
    const wrongType = await src
      .patch(
        `/Groups/${groupId}`,
        patchOp({ op: 'add', path: 'members', value: [{ value: members[0], type: 'Group' }] }),
      )
      .expect(400);
    expect(wrongType.body.scimType).toBe('invalidValue');
    expect(await memberIds()).toEqual([inner]);
  });

  it('shows a user its groups', async () => {
    await src
      .patch(`/Groups/${groupId}`, patchOp({ op: 'add', path: 'members', value: [{ value: members[0] }] }))
      .expect(204);
    const user = await src.get(`/Users/${members[0]}`).expect(200);
    expect(user.body.groups).toEqual([
      {
        value: groupId,
        $ref: expect.stringMatching(new RegExp(`/Groups/${groupId}$`)),
        display: 'Team',
        type: 'direct',
      },
    ]);
  });
});

describe('Bulk', () => {
  it('resolves bulkId references in any order and reports each operation', async () => {
    const res = await src
      .post('/Bulk', {
        schemas: [BULK_REQUEST],
        Operations: [
          {
            method: 'POST',
            path: '/Groups',
            bulkId: 'g1',
            data: scimGroup('Bulk group', { members: [{ value: 'bulkId:u1' }, { value: 'bulkId:u2' }] }),
          },
          { method: 'POST', path: '/Users', bulkId: 'u1', data: scimUser('bulk1@example.com') },
          {
            method: 'POST',
            path: '/Users',
            bulkId: 'u2',
            data: scimUser('bulk2@example.com', { [ENTERPRISE]: { manager: { value: 'bulkId:u1' } } }),
          },
          {
            method: 'PATCH',
            path: '/Users/bulkId:u1',
            data: patchOp({ op: 'replace', path: 'title', value: 'Lead' }),
          },
        ],
      })
      .expect(200);
    expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:BulkResponse']);
    const byId = Object.fromEntries(
      res.body.Operations.map((o: { bulkId?: string; method: string }) => [o.bulkId ?? o.method, o]),
    );
    expect(byId.u1).toMatchObject({
      method: 'POST',
      status: '201',
      version: 'W/"1"',
      location: expect.stringContaining('/Users/'),
    });
    expect(byId.g1).toMatchObject({ status: '201' });
    expect(byId.PATCH).toMatchObject({ status: '200', version: 'W/"2"' });
    const u1 = byId.u1.location.split('/').pop();
    const u2 = byId.u2.location.split('/').pop();
    const group = await src.get(`/Groups/${byId.g1.location.split('/').pop()}`).expect(200);
    expect(group.body.members.map((m: { value: string }) => m.value).sort()).toEqual([u1, u2].sort());
    const second = await src.get(`/Users/${u2}`).expect(200);
    expect(second.body[ENTERPRISE].manager.value).toBe(u1);
  });

  it('stops after failOnErrors errors and reports errors in the envelope', async () => {
    const res = await src
      .post('/Bulk', {
        schemas: [BULK_REQUEST],
        failOnErrors: 1,
        Operations: [
          { method: 'POST', path: '/Users', bulkId: 'a', data: scimUser('dup@example.com') },
          { method: 'POST', path: '/Users', bulkId: 'b', data: scimUser('never-created@example.com') },
        ],
      })
      .expect(200);
    expect(res.body.Operations).toEqual([
      {
        method: 'POST',
        bulkId: 'a',
        status: '409',
        response: expect.objectContaining({ schemas: [ERROR], status: '409', scimType: 'uniqueness' }),
      },
    ]);
    expect(
      (await src.get(`/Users?${filterQuery('userName eq "never-created@example.com"')}`).expect(200)).body
        .totalResults,
    ).toBe(0);
  });

  it('fails operations that depend on a failed one, and circular references', async () => {
    const res = await src
      .post('/Bulk', {
        schemas: [BULK_REQUEST],
        Operations: [
          { method: 'POST', path: '/Users', bulkId: 'bad', data: { schemas: [CORE_USER] } },
          {
            method: 'POST',
            path: '/Groups',
            bulkId: 'dep',
            data: scimGroup('Dep', { members: [{ value: 'bulkId:bad' }] }),
          },
          {
            method: 'POST',
            path: '/Groups',
            bulkId: 'c1',
            data: scimGroup('C1', { members: [{ value: 'bulkId:c2' }] }),
          },
          {
            method: 'POST',
            path: '/Groups',
            bulkId: 'c2',
            data: scimGroup('C2', { members: [{ value: 'bulkId:c1' }] }),
          },
          { method: 'DELETE', path: '/Users/8b6e4d5f-0000-4000-8000-000000000000' },
        ],
      })
      .expect(200);
    const statuses = Object.fromEntries(
      res.body.Operations.map((o: { bulkId?: string; method: string; status: string }) => [
        o.bulkId ?? o.method,
        o.status,
      ]),
    );
    expect(statuses).toEqual({ bad: '400', dep: '409', c1: '409', c2: '409', DELETE: '404' });
  });

  it('enforces the advertised limits', async () => {
    const tooMany = await src
      .post('/Bulk', {
        schemas: [BULK_REQUEST],
        Operations: Array.from({ length: 1001 }, () => ({ method: 'DELETE', path: '/Users/x' })),
      })
      .expect(413);
    expect(tooMany.body).toMatchObject({ schemas: [ERROR], status: '413' });
    await src.post('/Bulk', { Operations: [] }).expect(400);
  });
});

async function countRows(table: string): Promise<number> {
  return Number((await t.database.dataSource.query(`SELECT count(*) AS n FROM ${table}`))[0].n);
}
