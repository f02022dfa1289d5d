import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { FakeScimServer } from '../support/fake-scim-server.js';
import { adminApi, eventually } from '../support/provider-helpers.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

let t: TestApp;
let app: FakeScimServer;
let api: ReturnType<typeof adminApi>;

beforeAll(async () => {
  t = await startTestApp();
  api = adminApi(t);
  app = new FakeScimServer();
  await app.start();
});
afterAll(async () => {
  await t?.close();
  await app?.stop();
});

describe('full sync to a SCIM app', () => {
  let providerId: string;
  const ids: Record<string, string> = {};

  it('creates exactly the in-scope users and groups, with the right members and manager', async () => {
    ids.ada = await api.createUser({
      userName: 'ada@example.com',
      displayName: 'Ada Lovelace',
      name: { givenName: 'Ada', familyName: 'Lovelace' },
      emails: [
        { value: 'ada@example.com', type: 'work', primary: true },
        { value: 'ada@home.example', type: 'home' },
      ],
      title: 'Countess',
    });
    ids.grace = await api.createUser({ userName: 'grace@example.com', displayName: 'Grace Hopper' });
    ids.bot = await api.createUser({ userName: 'bot@example.com', kind: 'service' });
    await api.json(
      'PATCH',
      `/api/v1/users/${ids.grace}`,
      { [ENTERPRISE]: { department: 'Navy', manager: { value: ids.ada } } },
      200,
    );
    ids.eng = await api.createGroup('Engineering', [ids.ada, ids.grace, ids.bot]);
    ids.empty = await api.createGroup('Empty');

    const provider = await api.createProvider({
      name: 'Fake app',
      url: app.baseUrl,
      auth: { type: 'bearer', token: 'fake-scim-token' },
      scope: { excludeServiceAccounts: true },
      deprovision: { deleted: 'delete', outOfScope: 'deactivate' },
    });
    providerId = provider.id;
    expect(provider.auth).toEqual({ type: 'bearer', secretSet: true });
    expect(JSON.stringify(provider)).not.toContain('fake-scim-token');

    const run = await api.syncAndWait(providerId);
    // (Changes made just before the provider existed may reach it as deltas while the run goes:
    // the run then finds those objects done. Either way each is created once.)
    expect(run).toMatchObject({ status: 'succeeded', total: 4, done: 4, counts: { failed: 0 } });
    expect(run.counts.created + run.counts.updated + run.counts.unchanged).toBe(4);

    expect([...app.users.values()].map((u) => u.userName).sort()).toEqual([
      'ada@example.com',
      'grace@example.com',
    ]);
    const ada = app.userByName('ada@example.com')!;
    expect(ada).toMatchObject({
      displayName: 'Ada Lovelace',
      active: true,
      externalId: ids.ada,
      title: 'Countess',
    });
    expect(ada.emails).toHaveLength(2);
    const grace = app.userByName('grace@example.com')!;
    expect((grace[ENTERPRISE] as { manager: { value: string } }).manager.value).toBe(ada.id);
    const [eng] = app.groupByName('Engineering');
    expect(app.memberNames(eng!)).toEqual(['ada@example.com', 'grace@example.com']);
    expect(app.groupByName('Empty')).toHaveLength(1);
    expect(app.writes({ method: 'POST' })).toHaveLength(4);

    const objects = await api.json('GET', `/api/v1/providers/${providerId}/objects`, undefined, 200);
    expect(objects.body.items).toHaveLength(4);
    expect(
      objects.body.items.every(
        (o: { state: string; remoteId: string }) => o.state === 'synced' && o.remoteId,
      ),
    ).toBe(true);
  });

  it('sends zero writes on a re-run with no changes', async () => {
    app.clearLog();
    const run = await api.syncAndWait(providerId);
    expect(run).toMatchObject({ status: 'succeeded', counts: { unchanged: 4, created: 0, updated: 0 } });
    expect(app.writes()).toEqual([]);
  });

  it('pushes a change as a minimal PATCH within moments, and removals too', async () => {
    app.clearLog();
    await api.json(
      'PATCH',
      `/api/v1/users/${ids.ada}`,
      { title: null, emails: [{ value: 'ada@example.com', type: 'work', primary: true }] },
      200,
    );
    await eventually(() => app.writes().length >= 1, 10_000, 'the delta push');
    const [patch] = app.writes();
    expect(patch).toMatchObject({ method: 'PATCH', path: `/Users/${app.userByName('ada@example.com')!.id}` });
    const ops = (patch!.body as { Operations: { op: string; path: string }[] }).Operations;
    expect(ops.map((o) => `${o.op} ${o.path}`).sort()).toEqual(['remove title', 'replace emails']);
    const ada = app.userByName('ada@example.com')!;
    expect(ada.title).toBeUndefined();
    expect(ada.emails).toEqual([{ value: 'ada@example.com', type: 'work', primary: true }]);
  });

  it('moves members with add/remove PATCHes computed from our records', async () => {
    app.clearLog();
    const linus = await api.createUser({ userName: 'linus@example.com' });
    await api.json(
      'POST',
      `/api/v1/groups/${ids.eng}/members/add`,
      { members: [{ type: 'user', id: linus }] },
      200,
    );
    await api.json(
      'POST',
      `/api/v1/groups/${ids.eng}/members/remove`,
      { members: [{ type: 'user', id: ids.grace }] },
      200,
    );
    await eventually(
      () =>
        expect(app.memberNames(app.groupByName('Engineering')[0]!)).toEqual([
          'ada@example.com',
          'linus@example.com',
        ]),
      10_000,
      'members',
    );
    expect(app.log.filter((r) => r.method === 'GET' && r.path.startsWith('/Groups/'))).toEqual([]);
    expect(app.writes({ method: 'PUT' })).toEqual([]);
  });

  it('gives deleted and out-of-scope users the configured action', async () => {
    await api.json('PATCH', `/api/v1/users/${ids.grace}`, { kind: 'service' }, 200);
    await eventually(
      () => app.userByName('grace@example.com')?.active === false,
      10_000,
      'grace deactivated',
    );
    await api.json('DELETE', `/api/v1/users/${ids.ada}`, undefined, 204);
    await eventually(() => app.userByName('ada@example.com') === undefined, 10_000, 'ada deleted');
    const [eng] = app.groupByName('Engineering');
    expect(app.memberNames(eng!)).toEqual(['linus@example.com']);
  });
});
