import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { adminApi, eventually } from '../support/provider-helpers.js';

/**
 * Bridge to bridge: our provider pushes to another bridge's SCIM source over real HTTP — a full
 * SCIM 2.0 server with uniqueness, filters, PATCH and structural members.
 */
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
let ours: TestApp;
let theirs: TestApp;

beforeAll(async () => {
  [ours, theirs] = await Promise.all([startTestApp({ listen: true }), startTestApp({ listen: true })]);
});
afterAll(async () => {
  await ours?.close();
  await theirs?.close();
});

/** The other bridge's directory, as its admin API shows it. */
async function theirUser(userName: string): Promise<Record<string, any> | undefined> {
  const res = await theirs.http
    .get(`/api/v1/users?q=${encodeURIComponent(userName)}`)
    .set('Authorization', theirs.auth)
    .expect(200);
  const found = (res.body.items as { id: string; userName: string }[]).find((u) => u.userName === userName);
  if (!found) return undefined;
  return (await theirs.http.get(`/api/v1/users/${found.id}`).set('Authorization', theirs.auth).expect(200))
    .body;
}

async function theirGroupMembers(displayName: string): Promise<string[]> {
  const groups = await theirs.http
    .get(`/api/v1/groups?q=${encodeURIComponent(displayName)}`)
    .set('Authorization', theirs.auth)
    .expect(200);
  const group = (groups.body.items as { id: string; displayName: string }[]).find(
    (g) => g.displayName === displayName,
  );
  if (!group) return [];
  const members = await theirs.http
    .get(`/api/v1/groups/${group.id}/members?limit=500`)
    .set('Authorization', theirs.auth)
    .expect(200);
  return (members.body.items as { display: string }[]).map((m) => m.display).sort();
}

async function theirWrites(): Promise<number> {
  const [row] = (await theirs.database.dataSource.query(`SELECT count(*)::int AS n FROM change_events`)) as {
    n: number;
  }[];
  return row!.n;
}

describe('pushing to another bridge’s SCIM source', () => {
  const api = () => adminApi(ours);
  let providerId: string;
  const ids: Record<string, string> = {};

  it('provisions users, the enterprise extension with a translated manager, and groups with members', async () => {
    const source = await adminApi(theirs).json(
      'POST',
      '/api/v1/sources',
      { name: 'From the other bridge', slug: 'upstream' },
      201,
    );
    ids.boss = await api().createUser({
      userName: 'boss@example.com',
      displayName: 'Boss',
      emails: [{ value: 'boss@example.com', type: 'work', primary: true }],
    });
    ids.dev = await api().createUser({
      userName: 'dev@example.com',
      displayName: 'Dev',
      title: 'Developer',
      [ENTERPRISE]: { department: 'R&D' },
    });
    await api().json(
      'PATCH',
      `/api/v1/users/${ids.dev}`,
      { [ENTERPRISE]: { department: 'R&D', manager: { value: ids.boss } } },
      200,
    );
    ids.team = await api().createGroup('Team', [ids.boss, ids.dev]);
    const provider = await api().createProvider({
      name: 'Other bridge',
      url: `${theirs.baseUrl}/scim/upstream/v2`,
      auth: { type: 'bearer', token: source.body.token },
    });
    providerId = provider.id;
    const run = await api().syncAndWait(providerId);
    expect(run).toMatchObject({ status: 'succeeded', counts: { failed: 0 } });
    expect(run.counts.created + run.counts.updated + run.counts.unchanged).toBe(3);

    const boss = await theirUser('boss@example.com');
    const dev = await theirUser('dev@example.com');
    expect(boss).toMatchObject({ displayName: 'Boss', active: true });
    expect(dev).toMatchObject({ title: 'Developer' });
    expect(dev![ENTERPRISE].department).toBe('R&D');
    expect(dev![ENTERPRISE].manager.value).toBe(boss!.id); // their id for the boss, not ours
    expect(await theirGroupMembers('Team')).toEqual(['Boss', 'Dev']);
  });

  it('writes nothing on a re-run with no changes', async () => {
    const before = await theirWrites();
    const run = await api().syncAndWait(providerId);
    expect(run).toMatchObject({ status: 'succeeded', counts: { unchanged: 3 } });
    expect(await theirWrites()).toBe(before);
  });

  it('propagates a removed attribute and membership changes as deltas', async () => {
    await api().json('PATCH', `/api/v1/users/${ids.dev}`, { title: null }, 200);
    await api().json(
      'POST',
      `/api/v1/groups/${ids.team}/members/remove`,
      { members: [{ type: 'user', id: ids.boss }] },
      200,
    );
    await eventually(
      async () => (await theirUser('dev@example.com'))?.title === undefined,
      10_000,
      'title removed',
    );
    await eventually(
      async () => expect(await theirGroupMembers('Team')).toEqual(['Dev']),
      10_000,
      'member removed',
    );
  });

  it('deletes a deleted user downstream', async () => {
    await api().json('DELETE', `/api/v1/users/${ids.boss}`, undefined, 204);
    await eventually(async () => (await theirUser('boss@example.com')) === undefined, 10_000, 'boss deleted');
  });
});
