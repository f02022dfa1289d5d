import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

describe('admin API: users', () => {
  it('creates, reads, lists, patches and deletes a user', async () => {
    const created = await t.http
      .post('/api/v1/users')
      .set('Authorization', t.auth)
      .send({
        userName: 'Ada@Example.com',
        displayName: 'Ada Lovelace',
        name: { givenName: 'Ada', familyName: 'Lovelace' },
        emails: [{ value: 'ada@example.com', type: 'work', primary: true }],
        [ENTERPRISE]: { department: 'Analytical Engines', employeeNumber: '1815' },
        extensions: { 'urn:acme:params:scim:schemas:extension:2.0:User': { badge: '42' } },
      })
      .expect(201);
    expect(created.headers.etag).toBe('W/"1"');
    const id = created.body.id as string;
    expect(created.body).toMatchObject({
      userName: 'Ada@Example.com',
      active: true,
      kind: 'person',
      version: 1,
    });
    expect(created.body[ENTERPRISE]).toEqual({ department: 'Analytical Engines', employeeNumber: '1815' });

    const read = await t.http.get(`/api/v1/users/${id}`).set('Authorization', t.auth).expect(200);
    expect(read.body.extensions).toEqual({
      'urn:acme:params:scim:schemas:extension:2.0:User': { badge: '42' },
    });
    expect(read.body.groups).toEqual([]);

    const search = await t.http.get('/api/v1/users?q=ada@').set('Authorization', t.auth).expect(200);
    expect(search.body.items.map((u: { id: string }) => u.id)).toEqual([id]);
    const byEmail = await t.http
      .get('/api/v1/users?q=ADA@EXAMPLE.COM')
      .set('Authorization', t.auth)
      .expect(200);
    expect(byEmail.body.items).toHaveLength(1);

    const patched = await t.http
      .patch(`/api/v1/users/${id}`)
      .set('Authorization', t.auth)
      .set('Content-Type', 'application/merge-patch+json')
      .send(
        JSON.stringify({ displayName: 'Countess of Lovelace', name: { familyName: null }, active: false }),
      )
      .expect(200);
    expect(patched.body).toMatchObject({ displayName: 'Countess of Lovelace', active: false, version: 2 });
    expect(patched.body.name).toEqual({ givenName: 'Ada' });

    await t.http
      .patch(`/api/v1/users/${id}`)
      .set('Authorization', t.auth)
      .set('If-Match', 'W/"1"')
      .send({ title: 'x' })
      .expect(412);
    await t.http.delete(`/api/v1/users/${id}`).set('Authorization', t.auth).expect(204);
    await t.http.get(`/api/v1/users/${id}`).set('Authorization', t.auth).expect(404);
  });

  it('answers a duplicate userName (any case) with 409 problem+json', async () => {
    await t.http
      .post('/api/v1/users')
      .set('Authorization', t.auth)
      .send({ userName: 'grace@example.com' })
      .expect(201);
    const res = await t.http
      .post('/api/v1/users')
      .set('Authorization', t.auth)
      .send({ userName: 'GRACE@example.com' })
      .expect(409);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 409, code: 'user_name_taken' });
  });

  it('lists every field that fails validation, and writes nothing', async () => {
    const res = await t.http
      .post('/api/v1/users')
      .set('Authorization', t.auth)
      .send({ userName: 42, active: 'yes', emails: [{ type: 'work' }], unknownField: 1 })
      .expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    const fields = (res.body.errors as { field: string }[]).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['userName', 'active', 'emails[0].value', 'unknownField']));
    const list = await t.http.get('/api/v1/users?q=42').set('Authorization', t.auth).expect(200);
    expect(list.body.items).toEqual([]);
  });

  it('rejects malformed JSON, bad ids and bad cursors with 400, never 500', async () => {
    const malformed = await t.http
      .post('/api/v1/users')
      .set('Authorization', t.auth)
      .set('Content-Type', 'application/json')
      .send('{"userName": ')
      .expect(400);
    expect(malformed.body.code).toBe('malformed_json');
    await t.http.get('/api/v1/users/not-a-uuid').set('Authorization', t.auth).expect(400);
    const cursor = await t.http.get('/api/v1/users?cursor=garbage').set('Authorization', t.auth).expect(400);
    expect(cursor.body.code).toBe('invalid_cursor');
    await t.http.get('/api/v1/users?limit=0').set('Authorization', t.auth).expect(400);
  });

  it('pages through users with a cursor', async () => {
    for (let i = 0; i < 5; i++) {
      await t.http
        .post('/api/v1/users')
        .set('Authorization', t.auth)
        .send({ userName: `pager${i}@example.com` })
        .expect(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { items: { userName: string }[]; nextCursor: string | null } } = await t.http
        .get(`/api/v1/users?q=pager&limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        .set('Authorization', t.auth)
        .expect(200);
      seen.push(...res.body.items.map((u) => u.userName));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4].map((i) => `pager${i}@example.com`));
  });
});

describe('admin API: groups and memberships', () => {
  it('adds and removes user and group members, refusing cycles and unknown members', async () => {
    const user = (
      await t.http.post('/api/v1/users').set('Authorization', t.auth).send({ userName: 'member@example.com' })
    ).body;
    const parent = (
      await t.http
        .post('/api/v1/groups')
        .set('Authorization', t.auth)
        .send({ displayName: 'Parent' })
        .expect(201)
    ).body;
    const child = (
      await t.http
        .post('/api/v1/groups')
        .set('Authorization', t.auth)
        .send({ displayName: 'Child', members: [{ type: 'user', id: user.id }] })
        .expect(201)
    ).body;
    expect(child.memberCount).toBe(1);

    const added = await t.http
      .post(`/api/v1/groups/${parent.id}/members/add`)
      .set('Authorization', t.auth)
      .send({
        members: [
          { type: 'group', id: child.id },
          { type: 'user', id: user.id },
        ],
      })
      .expect(200);
    expect(added.body).toEqual({ userIds: [user.id], groupIds: [child.id] });

    const cycle = await t.http
      .post(`/api/v1/groups/${child.id}/members/add`)
      .set('Authorization', t.auth)
      .send({ members: [{ type: 'group', id: parent.id }] })
      .expect(400);
    expect(cycle.body.code).toBe('membership_cycle');

    const unknown = await t.http
      .post(`/api/v1/groups/${parent.id}/members/add`)
      .set('Authorization', t.auth)
      .send({ members: [{ type: 'user', id: '00000000-0000-4000-8000-000000000000' }] })
      .expect(400);
    expect(unknown.body.code).toBe('members_not_found');

    const members = await t.http
      .get(`/api/v1/groups/${parent.id}/members`)
      .set('Authorization', t.auth)
      .expect(200);
    expect(members.body.items.map((m: { type: string }) => m.type)).toEqual(['group', 'user']);

    const removed = await t.http
      .post(`/api/v1/groups/${parent.id}/members/remove`)
      .set('Authorization', t.auth)
      .send({ members: [{ type: 'user', id: user.id }] })
      .expect(200);
    expect(removed.body).toEqual({ userIds: [user.id], groupIds: [] });

    const read = await t.http.get(`/api/v1/users/${user.id}`).set('Authorization', t.auth).expect(200);
    expect(read.body.groups).toEqual([{ id: child.id, displayName: 'Child' }]);
  });

  it('never lets two concurrent nestings close a cycle', async () => {
    const create = async (displayName: string) =>
      (await t.http.post('/api/v1/groups').set('Authorization', t.auth).send({ displayName }).expect(201))
        .body.id as string;
    for (let round = 0; round < 5; round++) {
      const a = await create(`race-a-${round}`);
      const b = await create(`race-b-${round}`);
      const nest = (parent: string, child: string) =>
        t.http
          .post(`/api/v1/groups/${parent}/members/add`)
          .set('Authorization', t.auth)
          .send({ members: [{ type: 'group', id: child }] });
      const results = await Promise.all([nest(a, b), nest(b, a)]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
      expect(results.find((r) => r.status === 400)!.body.code).toBe('membership_cycle');
    }
  });
});
