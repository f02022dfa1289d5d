import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  BULK_REQUEST,
  counts,
  createSource,
  ENTERPRISE,
  filterQuery,
  patchOp,
  scimGroup,
  scimUser,
  sourceClient,
  type TestSource,
} from '../support/scim-source.js';

/**
 * Two sources on one bridge, plus an admin-managed user: neither source can list, read, change or
 * reference anything it did not provision itself.
 */
let t: TestApp;
let a: TestSource;
let b: TestSource;
let aUser: string;
let aGroup: string;
let bUser: string;
let bGroup: string;
let adminUser: string;

beforeAll(async () => {
  t = await startTestApp();
  a = await createSource(t, 'source-a');
  b = await createSource(t, 'source-b');
  aUser = (
    await a
      .post('/Users', scimUser('alice@a.example', { externalId: 'shared-ext', displayName: 'Alice' }))
      .expect(201)
  ).body.id;
  aGroup = (await a.post('/Groups', scimGroup('Shared name', { members: [{ value: aUser }] })).expect(201))
    .body.id;
  bUser = (await b.post('/Users', scimUser('bob@b.example', { externalId: 'shared-ext' })).expect(201)).body
    .id;
  bGroup = (await b.post('/Groups', scimGroup('Shared name')).expect(201)).body.id;
  adminUser = (
    await t.http
      .post('/api/v1/users')
      .set('Authorization', t.auth)
      .send({ userName: 'root@admin.example' })
      .expect(201)
  ).body.id;
});
afterAll(async () => t?.close());

describe('listing and reading', () => {
  it('lists only its own users and groups', async () => {
    const users = await b.get('/Users').expect(200);
    expect(users.body.Resources.map((u: { id: string }) => u.id)).toEqual([bUser]);
    const groups = await b.get('/Groups').expect(200);
    expect(groups.body.Resources.map((g: { id: string }) => g.id)).toEqual([bGroup]);
  });

  it.each([
    ['userName', 'userName eq "alice@a.example"'],
    ['the admin user', 'userName eq "root@admin.example"'],
    ['id', 'id eq "%A_USER%"'],
    ['an or over everything', 'userName pr or not (userName pr)'],
  ])('finds nothing of the others by %s', async (_name, filter) => {
    const res = await b.get(`/Users?${filterQuery(filter.replace('%A_USER%', aUser))}`).expect(200);
    expect(res.body.Resources.map((u: { id: string }) => u.id)).not.toContain(aUser);
    expect(res.body.Resources.map((u: { id: string }) => u.id)).not.toContain(adminUser);
  });

  it('sees only its own object for a shared externalId and a shared group name', async () => {
    const users = await b.get(`/Users?${filterQuery('externalId eq "shared-ext"')}`).expect(200);
    expect(users.body.Resources.map((u: { id: string }) => u.id)).toEqual([bUser]);
    const groups = await b.get(`/Groups?${filterQuery('displayName eq "Shared name"')}`).expect(200);
    expect(groups.body.Resources.map((g: { id: string }) => g.id)).toEqual([bGroup]);
  });

  it('cannot read the other source’s or the admin’s objects by id', async () => {
    await b.get(`/Users/${aUser}`).expect(404);
    await b.get(`/Users/${adminUser}`).expect(404);
    await b.get(`/Groups/${aGroup}`).expect(404);
    await b.get(`/Users/${aGroup}`).expect(404);
    await a.get(`/Groups/${aUser}`).expect(404);
  });

  it('cannot probe another source’s memberships', async () => {
    const res = await b.get(`/Groups?${filterQuery(`members[value eq "${aUser}"]`)}`).expect(200);
    expect(res.body.totalResults).toBe(0);
    const users = await b.get(`/Users?${filterQuery(`groups.value eq "${aGroup}"`)}`).expect(200);
    expect(users.body.totalResults).toBe(0);
  });
});

describe('changing', () => {
  it('cannot replace, patch or delete the other source’s objects', async () => {
    const before = await counts(t);
    const aliceBefore = (await a.get(`/Users/${aUser}`).expect(200)).body;
    await b.put(`/Users/${aUser}`, scimUser('taken@b.example')).expect(404);
    await b.patch(`/Users/${aUser}`, patchOp({ op: 'replace', path: 'active', value: false })).expect(404);
    await b.delete(`/Users/${aUser}`).expect(404);
    await b
      .patch(`/Groups/${aGroup}`, patchOp({ op: 'replace', path: 'displayName', value: 'Hijacked' }))
      .expect(404);
    await b.put(`/Groups/${aGroup}`, scimGroup('Hijacked')).expect(404);
    await b.delete(`/Groups/${aGroup}`).expect(404);
    await b.delete(`/Users/${adminUser}`).expect(404);
    expect(await counts(t)).toEqual(before);
    expect((await a.get(`/Users/${aUser}`).expect(200)).body).toEqual(aliceBefore);
    expect(await t.database.dataSource.query('SELECT active FROM users WHERE id = $1', [aUser])).toEqual([
      { active: true },
    ]);
    expect((await a.get(`/Groups/${aGroup}`).expect(200)).body.displayName).toBe('Shared name');
  });

  it('cannot take over a userName that belongs to the other source (409, naming no one)', async () => {
    const res = await b.post('/Users', scimUser('ALICE@a.example')).expect(409);
    expect(res.body.scimType).toBe('uniqueness');
    expect(res.body.detail).toMatch(/another source or to an admin-managed user/);
    expect(res.body.detail).not.toContain('source-a');
    expect(res.body.detail).not.toContain(aUser);
    const rename = await b
      .patch(`/Users/${bUser}`, patchOp({ op: 'replace', path: 'userName', value: 'alice@a.example' }))
      .expect(409);
    expect(rename.body.detail).toMatch(/another source or to an admin-managed user/);
  });
});

describe('referencing', () => {
  it('cannot add the other source’s or the admin’s users or groups as members', async () => {
    for (const id of [aUser, aGroup, adminUser]) {
      const res = await b
        .patch(`/Groups/${bGroup}`, patchOp({ op: 'add', path: 'members', value: [{ value: id }] }))
        .expect(400);
      expect(res.body.scimType).toBe('invalidValue');
    }
    await b.post('/Groups', scimGroup('Sneaky', { members: [{ value: aUser }] })).expect(400);
    await b
      .put(`/Groups/${bGroup}`, scimGroup('Shared name', { members: [{ value: adminUser }] }))
      .expect(400);
    const members: { n: number }[] = await t.database.dataSource.query(
      'SELECT count(*)::int AS n FROM memberships WHERE group_id = $1',
      [bGroup],
    );
    expect(members[0]!.n).toBe(0);
  });

  it('cannot remove members it does not see from its groups, nor from the other’s', async () => {
    // An admin adds their own user to source A's group: source A does not see it and cannot remove it.
    const added = await t.http
      .post(`/api/v1/groups/${aGroup}/members/add`)
      .set('Authorization', t.auth)
      .send({ members: [{ type: 'user', id: adminUser }] });
    expect(added.status).toBeLessThan(300);
    const seen = await a.get(`/Groups/${aGroup}`).expect(200);
    expect(seen.body.members.map((m: { value: string }) => m.value)).toEqual([aUser]);
    await a.patch(`/Groups/${aGroup}`, patchOp({ op: 'remove', path: 'members' })).expect(204);
    await a
      .patch(`/Groups/${aGroup}`, patchOp({ op: 'replace', path: 'members', value: [{ value: aUser }] }))
      .expect(204);
    const rows: { id: string }[] = await t.database.dataSource.query(
      'SELECT coalesce(member_user_id, member_group_id) AS id FROM memberships WHERE group_id = $1 ORDER BY 1',
      [aGroup],
    );
    expect(rows.map((r) => r.id).sort()).toEqual([aUser, adminUser].sort());
  });

  it('cannot make the other source’s user its manager', async () => {
    const res = await b
      .patch(`/Users/${bUser}`, patchOp({ op: 'add', path: `${ENTERPRISE}:manager`, value: aUser }))
      .expect(400);
    expect(res.body.scimType).toBe('invalidValue');
    await b
      .post('/Users', scimUser('carol@b.example', { [ENTERPRISE]: { manager: { value: adminUser } } }))
      .expect(400);
  });

  it('cannot reach the other source’s objects through Bulk', async () => {
    const res = await b
      .post('/Bulk', {
        schemas: [BULK_REQUEST],
        Operations: [
          {
            method: 'PATCH',
            path: `/Users/${aUser}`,
            data: patchOp({ op: 'replace', path: 'active', value: false }),
          },
          { method: 'DELETE', path: `/Groups/${aGroup}` },
          {
            method: 'POST',
            path: '/Groups',
            bulkId: 'g',
            data: scimGroup('Via bulk', { members: [{ value: aUser }] }),
          },
        ],
      })
      .expect(200);
    expect(res.body.Operations.map((o: { status: string }) => o.status)).toEqual(['404', '404', '400']);
    expect(await t.database.dataSource.query('SELECT active FROM users WHERE id = $1', [aUser])).toEqual([
      { active: true },
    ]);
    expect((await a.get(`/Groups/${aGroup}`).expect(200)).body.displayName).toBe('Shared name');
  });
});

describe('tokens', () => {
  it('does not accept one source’s token on the other’s URL', async () => {
    const crossed = sourceClient(t, b.id, 'source-b', a.token);
    const res = await crossed.get('/Users').expect(401);
    expect(res.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '401',
    });
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    await sourceClient(t, 'x', 'no-such-source', a.token).get('/Users').expect(401);
  });

  it('does not let an admin token in, nor a source token into the admin API', async () => {
    await t.http.get('/scim/source-a/v2/Users').set('Authorization', t.auth).expect(401);
    await t.http.get('/api/v1/users').set('Authorization', `Bearer ${a.token}`).expect(401);
  });
});
