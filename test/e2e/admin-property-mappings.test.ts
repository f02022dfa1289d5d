import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultMappingIds, MappingReferenceChecker } from '../../src/modules/property-mapping/index.js';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const BASE = '/api/v1/property-mappings';

const post = (path: string, body: unknown) =>
  t.http
    .post(path)
    .set('Authorization', t.auth)
    .send(body as object);
const create = (body: Record<string, unknown>) => post(BASE, { scope: 'provider:user', ...body });

function expectProblem(
  res: { headers: Record<string, string>; body: Record<string, unknown> },
  status: number,
  code: string,
) {
  expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code });
}

describe('admin API: property mappings', () => {
  it('ships the managed defaults, listed by scope', async () => {
    const res = await t.http.get(`${BASE}?scope=provider:user`).set('Authorization', t.auth).expect(200);
    const managed = (
      res.body.items as { id: string; managed: boolean; managedKey: string; scope: string }[]
    ).filter((m) => m.managed);
    expect(managed.map((m) => m.id)).toEqual(defaultMappingIds('provider:user'));
    expect(managed[0]).toMatchObject({ managedKey: 'default:provider:user', scope: 'provider:user' });
    expect((res.body.items as { scope: string }[]).every((m) => m.scope === 'provider:user')).toBe(true);
    for (const scope of ['source:user', 'source:group', 'provider:group'] as const) {
      const [id] = defaultMappingIds(scope);
      const one = await t.http.get(`${BASE}/${id}`).set('Authorization', t.auth).expect(200);
      expect(one.body).toMatchObject({ scope, managed: true });
    }
  });

  it('creates, reads, patches (merge patch) and deletes a mapping', async () => {
    const created = await create({
      name: 'Title upper',
      expression: 'return { title: upper(user.title) };',
      description: 'shout',
    }).expect(201);
    expect(created.headers.etag).toBe('W/"1"');
    expect(created.headers.location).toBe(`${BASE}/${created.body.id}`);
    expect(created.body).toMatchObject({
      name: 'Title upper',
      scope: 'provider:user',
      managed: false,
      managedKey: null,
      version: 1,
    });
    const id = created.body.id as string;

    const patched = await t.http
      .patch(`${BASE}/${id}`)
      .set('Authorization', t.auth)
      .set('Content-Type', 'application/merge-patch+json')
      .send(JSON.stringify({ expression: 'return { title: lower(user.title) };', description: null }))
      .expect(200);
    expect(patched.body).toMatchObject({
      expression: 'return { title: lower(user.title) };',
      description: '',
      version: 2,
    });

    await t.http
      .patch(`${BASE}/${id}`)
      .set('Authorization', t.auth)
      .set('If-Match', 'W/"1"')
      .send({ name: 'x' })
      .expect(412);
    const scope = await t.http
      .patch(`${BASE}/${id}`)
      .set('Authorization', t.auth)
      .send({ scope: 'source:user' })
      .expect(400);
    expectProblem(scope, 400, 'mapping_scope_immutable');

    await t.http.delete(`${BASE}/${id}`).set('Authorization', t.auth).expect(204);
    await t.http.get(`${BASE}/${id}`).set('Authorization', t.auth).expect(404);
  });

  it('pages through the list with a cursor', async () => {
    for (let i = 0; i < 5; i++)
      await create({ name: `Page ${i}`, expression: 'return null;', scope: 'provider:group' }).expect(201);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.http
        .get(`${BASE}?scope=provider:group&limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        .set('Authorization', t.auth)
        .expect(200);
      seen.push(...(res.body.items as { name: string }[]).map((m) => m.name));
      cursor = res.body.nextCursor as string | null;
    } while (cursor);
    expect(seen.filter((n) => n.startsWith('Page '))).toEqual([
      'Page 0',
      'Page 1',
      'Page 2',
      'Page 3',
      'Page 4',
    ]);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('refuses a duplicate name (any case) with 409', async () => {
    await create({ name: 'Unique name', expression: 'return {};' }).expect(201);
    const res = await create({ name: 'UNIQUE NAME', expression: 'return {};' }).expect(409);
    expectProblem(res, 409, 'mapping_name_taken');
  });

  it('answers a syntax error with 400 naming line and column', async () => {
    const res = await create({ name: 'Broken', expression: 'const a = 1;\nreturn { a: a +* 2 };' }).expect(
      400,
    );
    expectProblem(res, 400, 'mapping_syntax_error');
    expect(res.body).toMatchObject({ line: 2, column: expect.any(Number) });
    expect(res.body.detail).toMatch(/line 2, column \d+/);
    expect(res.body.errors).toEqual([
      { field: 'expression', message: expect.stringMatching(/^line 2, column \d+: /) },
    ]);

    const ok = await create({ name: 'Will break', expression: 'return {};' }).expect(201);
    const patch = await t.http
      .patch(`${BASE}/${ok.body.id}`)
      .set('Authorization', t.auth)
      .send({ expression: 'return {' })
      .expect(400);
    expectProblem(patch, 400, 'mapping_syntax_error');
    // A body that tries to close the function around it is a syntax error too.
    await create({ name: 'Escape', expression: 'return {}; }); (function () {' }).expect(400);
  });

  it('keeps managed mappings read-only, and copies them into editable ones', async () => {
    const [managedId] = defaultMappingIds('provider:user');
    const patch = await t.http
      .patch(`${BASE}/${managedId}`)
      .set('Authorization', t.auth)
      .send({ description: 'mine now' })
      .expect(403);
    expectProblem(patch, 403, 'mapping_managed');
    expect(patch.body.detail).toMatch(/copy/);
    expectProblem(
      await t.http.delete(`${BASE}/${managedId}`).set('Authorization', t.auth).expect(403),
      403,
      'mapping_managed',
    );

    const copy = await post(`${BASE}/${managedId}/copy`, {}).expect(201);
    const original = await t.http.get(`${BASE}/${managedId}`).set('Authorization', t.auth).expect(200);
    expect(copy.body).toMatchObject({
      scope: 'provider:user',
      managed: false,
      managedKey: null,
      expression: original.body.expression,
    });
    expect(copy.body.name).toBe(`${original.body.name as string} (copy)`);
    const second = await post(`${BASE}/${managedId}/copy`, {}).expect(201);
    expect(second.body.name).toBe(`${original.body.name as string} (copy 2)`);
    const named = await post(`${BASE}/${managedId}/copy`, { name: 'My provider user' }).expect(201);
    expect(named.body.name).toBe('My provider user');
    await t.http
      .patch(`${BASE}/${copy.body.id}`)
      .set('Authorization', t.auth)
      .send({ description: 'mine now' })
      .expect(200);
    await post(`${BASE}/${managedId}/copy`, { name: 'My provider user' }).expect(409);
  });

  it('refuses to delete a mapping a source or provider still lists (409)', async () => {
    const mapping = await create({ name: 'Listed', expression: 'return {};' }).expect(201);
    const checker = t.app.get(MappingReferenceChecker, { strict: false });
    checker.register({
      type: 'provider',
      referencesTo: async (mappingId) =>
        mappingId === mapping.body.id
          ? [{ ownerType: 'provider', ownerId: 'p1', ownerName: 'Slack', list: 'userMappings' }]
          : [],
    });
    const res = await t.http.delete(`${BASE}/${mapping.body.id}`).set('Authorization', t.auth).expect(409);
    expectProblem(res, 409, 'mapping_in_use');
    expect(res.body.detail).toContain('Slack');
    expect(res.body.references).toEqual([
      { ownerType: 'provider', ownerId: 'p1', ownerName: 'Slack', list: 'userMappings' },
    ]);
    await t.http.get(`${BASE}/${mapping.body.id}`).set('Authorization', t.auth).expect(200);
  });

  it('answers bad input with 400 problem+json, never 500', async () => {
    const cases: [string, () => ReturnType<typeof post>][] = [
      ['unknown scope', () => create({ name: 'x1', expression: 'return {}', scope: 'source:device' })],
      ['missing expression', () => post(BASE, { name: 'x2', scope: 'provider:user' })],
      ['expression not a string', () => create({ name: 'x3', expression: 42 })],
      ['unknown field', () => create({ name: 'x4', expression: 'return {}', managedKey: 'default:x' })],
      ['blank name', () => create({ name: '   ', expression: 'return {}' })],
      ['bad id', () => post(`${BASE}/not-a-uuid/copy`, {})],
      ['test without subject', () => post(`${BASE}/${defaultMappingIds('provider:user')[0]}/test`, {})],
      [
        'test with two subjects',
        () =>
          post(`${BASE}/${defaultMappingIds('provider:user')[0]}/test`, {
            sample: {},
            userId: '00000000-0000-4000-8000-000000000000',
          }),
      ],
      [
        'test sample not an object',
        () => post(`${BASE}/${defaultMappingIds('provider:user')[0]}/test`, { sample: 'x' }),
      ],
      [
        'test group id on a user mapping',
        () =>
          post(`${BASE}/${defaultMappingIds('provider:user')[0]}/test`, {
            groupId: '00000000-0000-4000-8000-000000000000',
          }),
      ],
      [
        'test unknown user',
        () =>
          post(`${BASE}/${defaultMappingIds('provider:user')[0]}/test`, {
            userId: '00000000-0000-4000-8000-000000000000',
          }),
      ],
      ['preview bad scope', () => post(`${BASE}/preview`, { scope: 'x', subject: { sample: {} } })],
      [
        'preview bad ids',
        () => post(`${BASE}/preview`, { scope: 'provider:user', mappingIds: ['x'], subject: { sample: {} } }),
      ],
      [
        'preview unknown id',
        () =>
          post(`${BASE}/preview`, {
            scope: 'provider:user',
            mappingIds: ['00000000-0000-4000-8000-000000000000'],
            subject: { sample: { userName: 'a' } },
          }),
      ],
      [
        'preview wrong-scope id',
        () =>
          post(`${BASE}/preview`, {
            scope: 'provider:user',
            mappingIds: defaultMappingIds('source:user'),
            subject: { sample: { userName: 'a' } },
          }),
      ],
      ['preview no subject', () => post(`${BASE}/preview`, { scope: 'provider:user' })],
      ['bad cursor', () => t.http.get(`${BASE}?cursor=garbage`).set('Authorization', t.auth)],
      ['bad list scope', () => t.http.get(`${BASE}?scope=nope`).set('Authorization', t.auth)],
    ];
    for (const [label, send] of cases) {
      const res = await send();
      expect(res.status, label).toBe(400);
      expect(res.headers['content-type'], label).toMatch(/application\/problem\+json/);
    }
    const patchArray = await t.http
      .patch(`${BASE}/${defaultMappingIds('provider:user')[0]}`)
      .set('Authorization', t.auth)
      .send([1]);
    expect(patchArray.status).toBeLessThan(500);
    await t.http.get(`${BASE}/00000000-0000-4000-8000-000000000000`).set('Authorization', t.auth).expect(404);
    await t.http.get(BASE).expect(401);
  });
});

describe('admin API: testing and previewing mappings', () => {
  let userId: string;
  let groupId: string;

  beforeAll(async () => {
    const user = await post('/api/v1/users', {
      userName: 'ada@example.com',
      displayName: 'Ada Lovelace',
      title: 'Countess',
      name: { givenName: 'Ada', familyName: 'Lovelace' },
      emails: [{ value: 'ada@example.com', type: 'work', primary: true }],
      [ENTERPRISE]: { department: 'Engines', employeeNumber: '1815' },
    }).expect(201);
    userId = user.body.id as string;
    const group = await post('/api/v1/groups', {
      displayName: 'Analysts',
      members: [{ type: 'user', id: userId }],
    }).expect(201);
    groupId = group.body.id as string;
  });

  it('tests one mapping on a directory user, a group and a sample', async () => {
    const custom = await create({
      name: 'Badge',
      expression: 'return { title: upper(user.title), groupCount: user.groups.length };',
    }).expect(201);
    const onUser = await post(`${BASE}/${custom.body.id}/test`, { userId }).expect(200);
    expect(onUser.body).toEqual({
      result: { title: 'COUNTESS', groupCount: 1 },
      durationMs: expect.any(Number),
    });

    const onSample = await post(`${BASE}/${custom.body.id}/test`, {
      sample: { userName: 'x', title: 'dr' },
    }).expect(200);
    expect(onSample.body.result).toEqual({ title: 'DR', groupCount: 0 });

    const [groupDefault] = defaultMappingIds('provider:group');
    const onGroup = await post(`${BASE}/${groupDefault}/test`, { groupId }).expect(200);
    expect(onGroup.body.result).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      externalId: groupId,
      displayName: 'Analysts',
    });

    const [sourceDefault] = defaultMappingIds('source:user');
    const inbound = await post(`${BASE}/${sourceDefault}/test`, {
      sample: { schemas: [CORE_USER], userName: 'bob@example.com', active: true },
    }).expect(200);
    expect(inbound.body.result).toEqual({ userName: 'bob@example.com', active: true });
  });

  it('reports a failing mapping, a skip and a non-object as clear problems', async () => {
    const thrower = await create({
      name: 'Thrower',
      expression: 'const x = null;\nreturn { a: x.b };',
    }).expect(201);
    const failed = await post(`${BASE}/${thrower.body.id}/test`, { userId }).expect(400);
    expectProblem(failed, 400, 'mapping_failed');
    expect(failed.body).toMatchObject({
      mappingId: thrower.body.id,
      mappingName: 'Thrower',
      failureKind: 'runtime',
      line: 2,
    });

    const skipper = await create({
      name: 'Skipper',
      expression: "skipObject('contractors stay home');",
    }).expect(201);
    const skipped = await post(`${BASE}/${skipper.body.id}/test`, { userId }).expect(400);
    expectProblem(skipped, 400, 'object_skipped');
    expect(skipped.body.reason).toBe('contractors stay home');

    const scalar = await create({ name: 'Scalar', expression: 'return 42;' }).expect(201);
    const invalid = await post(`${BASE}/${scalar.body.id}/test`, { userId }).expect(400);
    expectProblem(invalid, 400, 'mapping_failed');
    expect(invalid.body.failureKind).toBe('invalidResult');
  });

  it('previews the final payload of the defaults plus a custom mapping, with each contribution', async () => {
    const custom = await create({
      name: 'Department upper',
      expression: `return { '${ENTERPRISE}': { department: upper(user['${ENTERPRISE}'].department) } };`,
    }).expect(201);
    const ids = [...defaultMappingIds('provider:user'), custom.body.id as string];
    const res = await post(`${BASE}/preview`, {
      scope: 'provider:user',
      mappingIds: ids,
      subject: { userId },
    }).expect(200);
    expect(res.body.result).toEqual({
      schemas: [CORE_USER, ENTERPRISE],
      externalId: userId,
      userName: 'ada@example.com',
      name: { givenName: 'Ada', familyName: 'Lovelace' },
      displayName: 'Ada Lovelace',
      title: 'Countess',
      active: true,
      emails: [{ value: 'ada@example.com', type: 'work', primary: true }],
      [ENTERPRISE]: { employeeNumber: '1815', department: 'ENGINES' },
    });
    expect(res.body.contributions).toHaveLength(2);
    expect(res.body.contributions[1]).toEqual({
      mappingId: custom.body.id,
      name: 'Department upper',
      contribution: { [ENTERPRISE]: { department: 'ENGINES' } },
      durationMs: expect.any(Number),
    });

    // Without mappingIds the scope's defaults run.
    const defaults = await post(`${BASE}/preview`, { scope: 'provider:user', subject: { userId } }).expect(
      200,
    );
    expect(defaults.body.result[ENTERPRISE]).toEqual({ employeeNumber: '1815', department: 'Engines' });
  });

  it('previews a source mapping list on a sample SCIM payload', async () => {
    const res = await post(`${BASE}/preview`, {
      scope: 'source:user',
      subject: {
        sample: {
          schemas: [CORE_USER, ENTERPRISE],
          userName: 'grace@example.com',
          active: 'True',
          emails: [{ value: 'grace@example.com', primary: true }],
          [ENTERPRISE]: { department: 'Navy' },
        },
      },
    }).expect(200);
    expect(res.body.result).toEqual({
      userName: 'grace@example.com',
      active: true,
      emails: [{ value: 'grace@example.com', primary: true }],
      [ENTERPRISE]: { department: 'Navy' },
    });
  });

  it("previews a source's own list and context when given sourceId", async () => {
    const tagged = await create({
      name: 'Tag with source',
      scope: 'source:user',
      expression: "return { title: source.slug + ':' + lower(userName) };",
    }).expect(201);
    const sourceId = '11111111-1111-4111-8111-111111111111';
    t.app.get(MappingReferenceChecker, { strict: false }).register({
      type: 'source',
      referencesTo: async () => [],
      mappingIdsOf: async (ownerId, scope) =>
        ownerId === sourceId && scope === 'source:user'
          ? {
              mappingIds: [...defaultMappingIds('source:user'), tagged.body.id as string],
              context: { source: { id: sourceId, slug: 'okta', name: 'Okta' } },
            }
          : null,
    });
    const sample = { schemas: [CORE_USER], userName: 'Alan@Example.com' };
    const res = await post(`${BASE}/preview`, { scope: 'source:user', sourceId, subject: { sample } }).expect(
      200,
    );
    expect(res.body.result).toEqual({
      userName: 'Alan@Example.com',
      active: true,
      title: 'okta:alan@example.com',
    });
    expect(res.body.contributions.map((c: { name: string }) => c.name)).toEqual([
      'Default: SCIM user → directory',
      'Tag with source',
    ]);

    const unknown = await post(`${BASE}/preview`, {
      scope: 'source:user',
      sourceId: '22222222-2222-4222-8222-222222222222',
      subject: { sample },
    }).expect(400);
    expectProblem(unknown, 400, 'source_not_found');
    const wrongSide = await post(`${BASE}/preview`, {
      scope: 'provider:user',
      sourceId,
      subject: { sample },
    }).expect(400);
    expectProblem(wrongSide, 400, 'invalid_subject');
  });

  it('names the mapping and the attribute when the merged result is invalid', async () => {
    const bad = await create({ name: 'Bad emails', expression: "return { emails: 'not-a-list' };" }).expect(
      201,
    );
    const res = await post(`${BASE}/preview`, {
      scope: 'provider:user',
      mappingIds: [...defaultMappingIds('provider:user'), bad.body.id],
      subject: { userId },
    }).expect(400);
    expectProblem(res, 400, 'mapping_result_invalid');
    expect(res.body.mappingNames).toEqual(['Bad emails']);
    expect(res.body.attribute).toBe('emails');
  });
});
