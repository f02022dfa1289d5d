import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  changeEvents,
  CORE_GROUP,
  CORE_USER,
  createSource,
  directoryUser,
  ENTERPRISE,
  filterQuery,
  LIST,
  patchOp,
  type TestSource,
} from '../support/scim-source.js';

/**
 * Request sequences as the identity providers send them (Microsoft's "Develop and plan provisioning
 * for a SCIM endpoint" request/response pairs, the same with `aadOptscim062020`, and Okta's SCIM
 * 2.0 test suite), replayed end to end: SCIM in, directory rows and outbox events out.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

async function groupMemberIds(t: TestApp, groupId: string): Promise<string[]> {
  const rows: { id: string }[] = await t.database.dataSource.query(
    'SELECT coalesce(member_user_id, member_group_id) AS id FROM memberships WHERE group_id = $1 ORDER BY 1',
    [groupId],
  );
  return rows.map((r) => r.id);
}

describe('Microsoft Entra ID, default dialect', () => {
  let entra: TestSource;
  let userId: string;
  let managerId: string;
  let groupId: string;
  const userName = 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1';

  beforeAll(async () => {
    entra = await createSource(t, 'entra');
  });

  it('looks the user up by userName and finds nothing', async () => {
    const res = await entra.get(`/Users?${filterQuery(`userName eq "${userName}"`)}`).expect(200);
    expect(res.headers['content-type']).toMatch(/application\/scim\+json/);
    expect(res.body).toEqual({
      schemas: [LIST],
      totalResults: 0,
      itemsPerPage: 0,
      startIndex: 1,
      Resources: [],
    });
  });

  it('creates the user (201, Location, ETag) with what Entra sends, meta and empty roles included', async () => {
    const res = await entra
      .post('/Users', {
        schemas: [CORE_USER, ENTERPRISE],
        externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
        userName,
        active: true,
        emails: [
          {
            primary: true,
            type: 'work',
            value: 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com',
          },
        ],
        meta: { resourceType: 'User' },
        name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
        roles: [],
      })
      .expect(201);
    userId = res.body.id;
    expect(res.headers.location).toBe(res.body.meta.location);
    expect(res.headers.etag).toBe(res.body.meta.version);
    expect(res.body).toMatchObject({
      schemas: [CORE_USER, ENTERPRISE],
      userName,
      active: true,
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      meta: { resourceType: 'User' },
    });
    expect(res.body.meta.location).toMatch(new RegExp(`/scim/entra/v2/Users/${userId}$`));
    const row = await directoryUser(t, userId);
    expect(row).toMatchObject({
      user_name: userName,
      active: true,
      external_id: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
    });
    expect(await changeEvents(t, userId)).toEqual([
      expect.objectContaining({ kind: 'created', origin_type: 'source', origin_id: entra.id }),
    ]);
  });

  it('finds it by id, by userName and by externalId', async () => {
    await entra.get(`/Users/${userId}`).expect(200);
    for (const filter of [
      `userName eq "${userName.toUpperCase()}"`,
      'externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"',
    ]) {
      const res = await entra.get(`/Users?${filterQuery(filter)}`).expect(200);
      expect(res.body.totalResults).toBe(1);
      expect(res.body.Resources[0].id).toBe(userId);
    }
    const none = await entra.get(`/Users?${filterQuery('userName eq "non-existent user"')}`).expect(200);
    expect(none.body.totalResults).toBe(0);
  });

  it('updates multi-valued and single-valued attributes with capitalised ops', async () => {
    const res = await entra
      .patch(
        `/Users/${userId}`,
        patchOp(
          { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
          { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
        ),
      )
      .expect(200);
    expect(res.body.emails).toEqual([{ primary: true, type: 'work', value: 'updatedEmail@microsoft.com' }]);
    expect(res.body.name.familyName).toBe('updatedFamilyName');
    const renamed = await entra
      .patch(
        `/Users/${userId}`,
        patchOp({
          op: 'Replace',
          path: 'userName',
          value: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com',
        }),
      )
      .expect(200);
    expect(renamed.body.userName).toBe('5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com');
    expect((await directoryUser(t, userId))!.user_name).toBe(
      '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com',
    );
  });

  it('disables the user with the string boolean "False"', async () => {
    const res = await entra
      .patch(`/Users/${userId}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }))
      .expect(200);
    expect(res.body.active).toBe(false);
    expect((await directoryUser(t, userId))!.active).toBe(false);
    await entra
      .patch(`/Users/${userId}`, patchOp({ op: 'Replace', path: 'active', value: 'True' }))
      .expect(200);
    expect((await directoryUser(t, userId))!.active).toBe(true);
  });

  it('sets the enterprise manager by id and removes it', async () => {
    const manager = await entra
      .post('/Users', { schemas: [CORE_USER], userName: 'manager@testuser.com', active: true })
      .expect(201);
    managerId = manager.body.id;
    const set = await entra
      .patch(`/Users/${userId}`, patchOp({ op: 'Add', path: `${ENTERPRISE}:manager`, value: managerId }))
      .expect(200);
    expect(set.body[ENTERPRISE]).toEqual({ manager: { value: managerId } });
    expect(set.body.schemas).toEqual([CORE_USER, ENTERPRISE]);
    expect(((await directoryUser(t, userId))!.attributes as Record<string, unknown>)[ENTERPRISE]).toEqual({
      manager: { value: managerId },
    });

    const removed = await entra
      .patch(`/Users/${userId}`, patchOp({ op: 'Remove', path: `${ENTERPRISE}:manager` }))
      .expect(200);
    expect(removed.body[ENTERPRISE]).toBeUndefined();
    expect(
      ((await directoryUser(t, userId))!.attributes as Record<string, unknown>)[ENTERPRISE],
    ).toBeUndefined();
  });

  it('creates a group (with the ADSCIM schema Entra lists) and finds it by displayName without members', async () => {
    const res = await entra
      .post('/Groups', {
        schemas: [CORE_GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group'],
        externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
        displayName: 'displayName',
        meta: { resourceType: 'Group' },
      })
      .expect(201);
    groupId = res.body.id;
    expect(res.body).toMatchObject({ schemas: [CORE_GROUP], displayName: 'displayName' });
    expect(res.body).not.toHaveProperty('members'); // no members: unassigned, so omitted
    const found = await entra
      .get(`/Groups?excludedAttributes=members&${filterQuery('displayName eq "displayName"')}`)
      .expect(200);
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0].members).toBeUndefined();
    const one = await entra.get(`/Groups/${groupId}?excludedAttributes=members`).expect(200);
    expect(one.body).not.toHaveProperty('members');
  });

  it('adds members one operation each ($ref null), as one outbox event', async () => {
    await entra
      .patch(
        `/Groups/${groupId}`,
        patchOp(
          { op: 'Add', path: 'members', value: [{ $ref: null, value: userId }] },
          { op: 'Add', path: 'members', value: [{ $ref: null, value: managerId }] },
        ),
      )
      .expect(204);
    expect(await groupMemberIds(t, groupId)).toEqual([userId, managerId].sort());
    expect((await entra.get(`/Groups/${groupId}`).expect(200)).body.members).toHaveLength(2);
    expect(
      (await entra.get(`/Groups/${groupId}?excludedAttributes=members`).expect(200)).body,
    ).not.toHaveProperty('members');
    const added = (await changeEvents(t, groupId)).filter((e) => e.kind === 'members_added');
    expect(added).toHaveLength(1);
    expect((added[0]!.detail!.userIds as string[]).sort()).toEqual([userId, managerId].sort());
  });

  it('checks membership with `id eq … and members[value eq …]`', async () => {
    const query = (member: string) =>
      `/Groups?excludedAttributes=members&${filterQuery(`id eq "${groupId}" and members[value eq "${member}"]`)}`;
    const hit = await entra.get(query(userId)).expect(200);
    expect(hit.body.totalResults).toBe(1);
    const miss = await entra.get(query('8b6e4d5f-0000-4000-8000-000000000000')).expect(200);
    expect(miss.body.totalResults).toBe(0);
  });

  it('removes exactly the members named in value, not all of them', async () => {
    await entra
      .patch(
        `/Groups/${groupId}`,
        patchOp({ op: 'Remove', path: 'members', value: [{ $ref: null, value: userId }] }),
      )
      .expect(204);
    expect(await groupMemberIds(t, groupId)).toEqual([managerId]);
    const removed = (await changeEvents(t, groupId)).filter((e) => e.kind === 'members_removed');
    expect(removed).toHaveLength(1);
    expect(removed[0]!.detail).toEqual({ userIds: [userId], groupIds: [] });
  });

  it('renames the group', async () => {
    await entra
      .patch(
        `/Groups/${groupId}`,
        patchOp({
          op: 'Replace',
          path: 'displayName',
          value: '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName',
        }),
      )
      .expect(204);
    const res = await entra.get(`/Groups/${groupId}`).expect(200);
    expect(res.body.displayName).toBe('1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName');
    const rows = await t.database.dataSource.query('SELECT display_name FROM groups WHERE id = $1', [
      groupId,
    ]);
    expect(rows[0].display_name).toBe('1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName');
  });

  it('deletes the group and the user (204), which then are gone', async () => {
    await entra.delete(`/Groups/${groupId}`).expect(204);
    await entra.get(`/Groups/${groupId}`).expect(404);
    await entra.delete(`/Users/${userId}`).expect(204);
    const gone = await entra.get(`/Users/${userId}`).expect(404);
    expect(gone.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '404',
    });
    expect(await directoryUser(t, userId)).toBeUndefined();
    expect((await changeEvents(t, userId)).at(-1)).toMatchObject({ kind: 'deleted', origin_id: entra.id });
  });
});

describe('Microsoft Entra ID with aadOptscim062020', () => {
  let entra: TestSource;
  let userId: string;
  let groupId: string;

  beforeAll(async () => {
    entra = await createSource(t, 'entra-new');
  });

  it('creates a user with the enterprise extension and real booleans', async () => {
    const res = await entra
      .post('/Users', {
        schemas: [CORE_USER, ENTERPRISE],
        externalId: 'alice',
        userName: 'alice@contoso.com',
        active: true,
        displayName: 'Alice',
        name: { givenName: 'Alice', familyName: 'Smith' },
        emails: [{ primary: true, type: 'work', value: 'alice@contoso.com' }],
        [ENTERPRISE]: { department: 'Sales', employeeNumber: '1001' },
      })
      .expect(201);
    userId = res.body.id;
    expect(res.body[ENTERPRISE]).toEqual({ employeeNumber: '1001', department: 'Sales' });
  });

  it('applies a path-less replace whose keys are paths and URN-prefixed names', async () => {
    const res = await entra
      .patch(
        `/Users/${userId}`,
        patchOp({
          op: 'replace',
          value: {
            displayName: 'Alice Smith-Jones',
            'name.givenName': 'Alicia',
            'name.familyName': 'Smith-Jones',
            'emails[type eq "work"].value': 'alicia@contoso.com',
            [`${ENTERPRISE}:department`]: 'Marketing',
            [`${ENTERPRISE}:employeeNumber`]: '2002',
            active: false,
          },
        }),
      )
      .expect(200);
    expect(res.body).toMatchObject({
      displayName: 'Alice Smith-Jones',
      name: { givenName: 'Alicia', familyName: 'Smith-Jones' },
      emails: [{ primary: true, type: 'work', value: 'alicia@contoso.com' }],
      active: false,
      [ENTERPRISE]: { department: 'Marketing', employeeNumber: '2002' },
    });
    const row = (await directoryUser(t, userId))!;
    expect(row).toMatchObject({ display_name: 'Alice Smith-Jones', active: false });
    expect((row.attributes as Record<string, Record<string, unknown>>)[ENTERPRISE]).toEqual({
      department: 'Marketing',
      employeeNumber: '2002',
    });
  });

  it('takes URN-prefixed keys inside a value object', async () => {
    const res = await entra
      .patch(
        `/Users/${userId}`,
        patchOp({ op: 'add', value: { [ENTERPRISE]: { costCenter: 'CC-7' }, title: 'Lead' } }),
      )
      .expect(200);
    expect(res.body[ENTERPRISE]).toMatchObject({ costCenter: 'CC-7', department: 'Marketing' });
    expect(res.body.title).toBe('Lead');
  });

  it('replaces the manager with a value object and removes members by filter', async () => {
    const boss = await entra
      .post('/Users', { schemas: [CORE_USER], userName: 'boss@contoso.com' })
      .expect(201);
    const set = await entra
      .patch(
        `/Users/${userId}`,
        patchOp({ op: 'replace', path: `${ENTERPRISE}:manager`, value: { value: boss.body.id } }),
      )
      .expect(200);
    expect(set.body[ENTERPRISE].manager).toEqual({ value: boss.body.id });

    const group = await entra
      .post('/Groups', {
        schemas: [CORE_GROUP],
        displayName: 'Sales',
        members: [{ value: userId }, { value: boss.body.id }],
      })
      .expect(201);
    groupId = group.body.id;
    expect(group.body.members.map((m: { value: string }) => m.value).sort()).toEqual(
      [userId, boss.body.id].sort(),
    );
    await entra
      .patch(`/Groups/${groupId}`, patchOp({ op: 'remove', path: `members[value eq "${boss.body.id}"]` }))
      .expect(204);
    expect(await groupMemberIds(t, groupId)).toEqual([userId]);
  });
});

describe('Okta', () => {
  let okta: TestSource;
  let userId: string;
  let groupId: string;
  const oktaUser = {
    schemas: [CORE_USER],
    userName: 'test.user@okta.local',
    name: { givenName: 'Test', familyName: 'User' },
    emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
    displayName: 'Test User',
    locale: 'en-US',
    externalId: '00ujl29u0le5T6Aj10h7',
    groups: [],
    password: '1mz050nq',
    active: true,
  };

  beforeAll(async () => {
    okta = await createSource(t, 'okta');
  });

  it('checks for the user with count=100 paging, then creates it (password never stored)', async () => {
    const lookup = await okta
      .get(`/Users?${filterQuery('userName eq "test.user@okta.local"')}&startIndex=1&count=100`)
      .expect(200);
    expect(lookup.body.totalResults).toBe(0);
    const res = await okta.post('/Users', oktaUser).expect(201);
    userId = res.body.id;
    expect(res.body).not.toHaveProperty('password');
    expect(res.body).not.toHaveProperty('groups'); // read-only: what Okta sent is ignored, and there are none
    const stored = JSON.stringify(
      await t.database.dataSource.query('SELECT * FROM scim_links WHERE id = $1', [userId]),
    );
    expect(stored).not.toContain('1mz050nq');
    expect(JSON.stringify(await directoryUser(t, userId))).not.toContain('1mz050nq');
  });

  it('answers a duplicate create with 409 uniqueness', async () => {
    const res = await okta.post('/Users', oktaUser).expect(409);
    expect(res.body).toMatchObject({ status: '409', scimType: 'uniqueness' });
  });

  it('updates the whole user with PUT, echoing id, meta and groups', async () => {
    const current = await okta.get(`/Users/${userId}`).expect(200);
    const res = await okta
      .put(`/Users/${userId}`, {
        ...current.body,
        name: { givenName: 'Another', familyName: 'User' },
        emails: [{ primary: true, value: 'another.user@okta.local', type: 'work' }],
        displayName: 'Another User',
      })
      .expect(200);
    expect(res.body).toMatchObject({
      id: userId,
      displayName: 'Another User',
      name: { givenName: 'Another', familyName: 'User' },
    });
    expect(res.body.meta.version).not.toBe(current.body.meta.version);
  });

  it('deactivates with a path-less replace of active', async () => {
    const res = await okta
      .patch(`/Users/${userId}`, patchOp({ op: 'replace', value: { active: false } }))
      .expect(200);
    expect(res.body.active).toBe(false);
    expect((await directoryUser(t, userId))!.active).toBe(false);
  });

  it('pushes a group, renames it with id in the value, adds and removes members', async () => {
    const second = await okta
      .post('/Users', { ...oktaUser, userName: 'second@okta.local', externalId: 'second' })
      .expect(201);
    const created = await okta
      .post('/Groups', { schemas: [CORE_GROUP], displayName: 'Test SCIMv2', members: [] })
      .expect(201);
    groupId = created.body.id;
    const page = await okta.get('/Groups?startIndex=1&count=100').expect(200);
    expect(page.body.Resources.map((g: { id: string }) => g.id)).toContain(groupId);

    await okta
      .patch(
        `/Groups/${groupId}`,
        patchOp({ op: 'replace', value: { id: groupId, displayName: 'Test SCIMv2 renamed' } }),
      )
      .expect(204);
    await okta
      .patch(
        `/Groups/${groupId}`,
        patchOp({
          op: 'add',
          path: 'members',
          value: [
            { value: userId, display: 'test.user@okta.local' },
            { value: second.body.id, display: 'second@okta.local' },
          ],
        }),
      )
      .expect(204);
    expect(await groupMemberIds(t, groupId)).toEqual([userId, second.body.id].sort());
    await okta
      .patch(
        `/Groups/${groupId}`,
        patchOp(
          { op: 'remove', path: `members[value eq "${userId}"]` },
          { op: 'add', path: 'members', value: [{ value: userId }] },
        ),
      )
      .expect(204);
    await okta
      .patch(`/Groups/${groupId}`, patchOp({ op: 'remove', path: `members[value eq "${second.body.id}"]` }))
      .expect(204);
    const group = await okta.get(`/Groups/${groupId}`).expect(200);
    expect(group.body).toMatchObject({
      displayName: 'Test SCIMv2 renamed',
      members: [expect.objectContaining({ value: userId, type: 'User' })],
    });
    expect(await groupMemberIds(t, groupId)).toEqual([userId]);
  });

  it('refuses a rename that tries to change the id', async () => {
    const res = await okta
      .patch(
        `/Groups/${groupId}`,
        patchOp({ op: 'replace', value: { id: '11111111-1111-4111-8111-111111111111', displayName: 'x' } }),
      )
      .expect(400);
    expect(res.body.scimType).toBe('mutability');
  });

  it('deletes the group', async () => {
    await okta.delete(`/Groups/${groupId}`).expect(204);
    await okta.get(`/Groups/${groupId}`).expect(404);
  });
});
