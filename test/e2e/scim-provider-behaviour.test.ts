import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessPresence } from '../../src/platform/jobs/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { FakeScimServer } from '../support/fake-scim-server.js';
import { adminApi, eventually, waitForRun } from '../support/provider-helpers.js';

let t: TestApp;
let api: ReturnType<typeof adminApi>;
const apps: FakeScimServer[] = [];

/** How long the app is down in the outage test: the "down for a minute". */
const OUTAGE_MS = 60_000;

async function fakeApp(
  options: ConstructorParameters<typeof FakeScimServer>[0] = {},
): Promise<FakeScimServer> {
  const app = new FakeScimServer(options);
  await app.start();
  apps.push(app);
  return app;
}

beforeAll(async () => {
  t = await startTestApp({ listen: true });
  api = adminApi(t);
});
afterAll(async () => {
  await t?.close();
  await Promise.all(apps.map((a) => a.stop()));
});

const bearer = (app: FakeScimServer) => ({ type: 'bearer', token: app.options.token });

describe('dry run', () => {
  it('computes and records what would be sent, and sends no write', async () => {
    const app = await fakeApp();
    const u1 = await api.createUser({ userName: 'dry1@example.com' });
    await api.createGroup('Dry group', [u1]);
    const provider = await api.createProvider({
      name: 'Dry',
      url: app.baseUrl,
      auth: bearer(app),
      dryRun: true,
      scope: { users: 'groups', userGroupIds: [await api.createGroup('Dry scope', [u1])] },
    });
    const run = await api.syncAndWait(provider.id);
    expect(run).toMatchObject({ status: 'succeeded', dryRun: true, counts: { created: 3 } });
    expect(app.writes()).toEqual([]);
    const recorded = await api.json(
      'GET',
      `/api/v1/providers/${provider.id}/dry-run-requests?runId=${run.id}`,
      undefined,
      200,
    );
    const requests = recorded.body.items as { method: string; path: string; body: Record<string, unknown> }[];
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /Users',
      'POST /Groups',
      'POST /Groups',
    ]);
    expect(requests[0]!.body).toMatchObject({ userName: 'dry1@example.com', active: true });
    // Nothing was recorded as provisioned: turning dry run off sends everything for real.
    const objects = await api.json('GET', `/api/v1/providers/${provider.id}/objects`, undefined, 200);
    expect(objects.body.items).toEqual([]);
    await api.json('PATCH', `/api/v1/providers/${provider.id}`, { dryRun: false }, 200);
    const real = await api.syncAndWait(provider.id);
    expect(real).toMatchObject({ status: 'succeeded', counts: { created: 3 } });
    expect(app.writes({ method: 'POST' })).toHaveLength(3);
    await api.json('DELETE', `/api/v1/providers/${provider.id}`, undefined, 204);
  });
});

describe('compatibility profiles: request shapes', () => {
  const profiles = {
    default: {},
    aws: { rejectGroupPut: true, maxOperations: 100 },
    slack: {},
    salesforce: {},
    webex: { requireMemberType: true },
    entra: {},
    'no-patch': { patchSupported: false },
  } as const;
  const fakes = new Map<string, FakeScimServer>();
  const providers = new Map<string, string>();
  const ids: Record<string, string> = {};

  it('provisions the same directory to every profile', async () => {
    ids.a = await api.createUser({ userName: 'pa@example.com', displayName: 'P A' });
    ids.b = await api.createUser({ userName: 'pb@example.com' });
    ids.c = await api.createUser({ userName: 'pc@example.com' });
    ids.group = await api.createGroup('Profiles', [ids.a, ids.b]);
    for (const [name, options] of Object.entries(profiles)) {
      const app = await fakeApp(options);
      fakes.set(name, app);
      const provider = await api.createProvider({
        name: `Profile ${name}`,
        url: app.baseUrl,
        auth: bearer(app),
        compatibility: name,
        scope: { users: 'groups', userGroupIds: [ids.group], groups: 'selected', groupIds: [ids.group] },
        maxRequestsPerSecond: 1000,
      });
      providers.set(name, provider.id);
      const run = await api.syncAndWait(provider.id);
      expect(run, name).toMatchObject({ status: 'succeeded', counts: { failed: 0 } });
      expect(app.writes({ method: 'POST' }), name).toHaveLength(3);
      expect(app.memberNames(app.groupByName('Profiles')[0]!), name).toEqual([
        'pa@example.com',
        'pb@example.com',
      ]);
    }
    expect(fakes.get('webex')!.groupByName('Profiles')[0]!.members).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'user' })]),
    );
    // AWS takes no members on create: they follow as PATCHes.
    const aws = fakes.get('aws')!;
    expect(
      (aws.writes({ method: 'POST', path: '/Groups' })[0]!.body as { members?: unknown }).members,
    ).toBeUndefined();
    expect(aws.writes({ method: 'PATCH', path: '/Groups' })).toHaveLength(1);
  });

  it('sends each profile’s shapes for an attribute change, a new attribute, a member added and one removed', async () => {
    for (const app of fakes.values()) app.clearLog();
    await api.json('PATCH', `/api/v1/users/${ids.a}`, { displayName: 'P. A.', title: 'Engineer' }, 200);
    await api.json(
      'POST',
      `/api/v1/groups/${ids.group}/members/add`,
      { members: [{ type: 'user', id: ids.c }] },
      200,
    );
    await api.json(
      'POST',
      `/api/v1/groups/${ids.group}/members/remove`,
      { members: [{ type: 'user', id: ids.b }] },
      200,
    );
    for (const [name, app] of fakes) {
      await eventually(
        () => {
          expect(app.memberNames(app.groupByName('Profiles')[0]!)).toEqual([
            'pa@example.com',
            'pc@example.com',
          ]);
          expect(app.userByName('pa@example.com')).toMatchObject({ displayName: 'P. A.', title: 'Engineer' });
          expect(app.userByName('pb@example.com')).toMatchObject({ active: false });
        },
        15_000,
        `${name} to converge`,
      );
    }
    const userWrite = (name: string) =>
      fakes.get(name)!.writes({ path: `/Users/${fakes.get(name)!.userByName('pa@example.com')!.id}` })[0]!;
    const groupWrites = (name: string) => fakes.get(name)!.writes({ path: '/Groups/' });
    const opsOf = (body: unknown) =>
      (body as { Operations: { op: string; path: string; value?: unknown }[] }).Operations;

    // default: minimal PATCH; members as value lists.
    expect(userWrite('default').method).toBe('PATCH');
    expect(
      opsOf(userWrite('default').body)
        .map((o) => `${o.op} ${o.path}`)
        .sort(),
    ).toEqual(['replace displayName', 'replace title']);
    expect(groupWrites('default').every((w) => w.method === 'PATCH')).toBe(true);
    expect(
      groupWrites('default')
        .flatMap((w) => opsOf(w.body))
        .map((o) => `${o.op} ${o.path}`)
        .sort(),
    ).toEqual(['add members', 'remove members']);
    // entra: `add` for a new attribute; members removed by filter path; members typed User.
    expect(
      opsOf(userWrite('entra').body)
        .map((o) => `${o.op} ${o.path}`)
        .sort(),
    ).toEqual(['add title', 'replace displayName']);
    const entraOps = groupWrites('entra').flatMap((w) => opsOf(w.body));
    expect(entraOps.find((o) => o.op === 'remove')!.path).toMatch(/^members\[value eq ".+"\]$/);
    expect((entraOps.find((o) => o.op === 'add')!.value as { type: string }[])[0]!.type).toBe('User');
    // aws: groups are never PUT.
    expect(groupWrites('aws').every((w) => w.method === 'PATCH')).toBe(true);
    // no-patch and salesforce: users replaced whole; no-patch also replaces groups with all members.
    expect(userWrite('no-patch')).toMatchObject({ method: 'PUT' });
    expect((userWrite('no-patch').body as Record<string, unknown>).userName).toBe('pa@example.com');
    expect(groupWrites('no-patch').every((w) => w.method === 'PUT')).toBe(true);
    expect((groupWrites('no-patch').at(-1)!.body as { members: unknown[] }).members.length).toBe(2);
    expect(userWrite('salesforce')).toMatchObject({ method: 'PUT' });
    // webex: typed members.
    expect(
      (
        groupWrites('webex')
          .flatMap((w) => opsOf(w.body))
          .find((o) => o.op === 'add')!.value as { type: string }[]
      )[0]!.type,
    ).toBe('user');
  });

  it('deletes where the app can, deactivates where deleting means deactivating (slack, salesforce)', async () => {
    await api.json('DELETE', `/api/v1/users/${ids.c}`, undefined, 204);
    for (const [name, app] of fakes) {
      const deactivates = name === 'slack' || name === 'salesforce';
      await eventually(
        () =>
          deactivates
            ? app.userByName('pc@example.com')?.active === false
            : app.userByName('pc@example.com') === undefined,
        15_000,
        `${name}: pc deprovisioned`,
      );
    }
    for (const id of providers.values()) await api.json('DELETE', `/api/v1/providers/${id}`, undefined, 204);
  });
});

describe('request concurrency', () => {
  it('keeps at most maxConcurrency requests in flight at the app, and uses them', async () => {
    const app = await fakeApp();
    app.faults = { ...app.faults, latencyMs: 20 };
    const users: string[] = [];
    for (let i = 0; i < 40; i++) users.push(await api.createUser({ userName: `conc${i}@example.com` }));
    const scope = await api.createGroup('Concurrency scope', users);
    const provider = await api.createProvider({
      name: 'Three at once',
      url: app.baseUrl,
      auth: bearer(app),
      maxConcurrency: 3,
      scope: { users: 'groups', userGroupIds: [scope], groups: 'selected', groupIds: [scope] },
    });
    const run = await api.syncAndWait(provider.id);
    expect(run).toMatchObject({ status: 'succeeded', counts: { created: 41 } });
    expect(app.maxInFlight).toBeLessThanOrEqual(3);
    expect(app.maxInFlight).toBeGreaterThanOrEqual(2);
    await api.json('DELETE', `/api/v1/providers/${provider.id}`, undefined, 204);
  });
});

describe('faults', () => {
  it.each([
    { how: 'in single requests', tag: 'fault', bulk: false as const },
    { how: 'in Bulk requests', tag: 'bulkfault', bulk: { maxOperations: 5, maxPayloadSize: 1_048_576 } },
  ])(
    'converges to the exact state with no duplicate creates through 5xx, 429, dropped connections, $how',
    async ({ tag, bulk }) => {
      const app = await fakeApp({ bulk });
      const users: string[] = [];
      for (let i = 0; i < 120; i++)
        users.push(await api.createUser({ userName: `${tag}${i}@example.com`, title: `t${i}` }));
      const groups: string[] = [];
      for (let g = 0; g < 6; g++)
        groups.push(await api.createGroup(`${tag} group ${g}`, users.slice(g * 20, g * 20 + 20)));
      const provider = await api.createProvider({
        name: 'Faulty app',
        url: app.baseUrl,
        auth: bearer(app),
        scope: { users: 'groups', userGroupIds: groups, groups: 'selected', groupIds: groups },
        retry: { baseDelaySeconds: 0.1, maxDelaySeconds: 1 },
      });
      // Bulk makes far fewer HTTP requests: higher odds, so that every kind of fault still happens.
      const odds = bulk ? 3 : 1;
      app.faults = {
        ...app.faults,
        errorRate: 0.05 * odds,
        rateLimitRate: 0.01 * odds * odds,
        retryAfterSeconds: 1,
        dropRate: 0.02 * odds,
        dropAfterApplyRate: 0.03 * odds,
      };
      const run = await api.syncAndWait(provider.id, 120_000);
      app.faults = { ...app.faults, errorRate: 0, rateLimitRate: 0, dropRate: 0, dropAfterApplyRate: 0 };
      expect(['succeeded', 'partial']).toContain(run.status);
      if (run.status === 'partial') {
        // Whatever failed after every retry converges on the next run.
        expect((await api.syncAndWait(provider.id)).status).toBe('succeeded');
      }
      expect(app.users.size).toBe(120);
      expect(app.groups.size).toBe(6);
      for (let g = 0; g < 6; g++) {
        const found = app.groupByName(`${tag} group ${g}`);
        expect(found).toHaveLength(1);
        expect(app.memberNames(found[0]!)).toEqual(
          Array.from({ length: 20 }, (_, i) => `${tag}${g * 20 + i}@example.com`).sort(),
        );
      }
      // Every user was created once: a create whose answer was lost was found and linked, not repeated.
      const applied = app.writes({ method: 'POST', path: '/Users' });
      expect(new Set(applied.map((r) => (r.body as { userName: string }).userName)).size).toBe(
        applied.length,
      );
      expect(app.log.some((r) => r.status === 'dropped')).toBe(true);
      expect(app.log.some((r) => r.status === 429)).toBe(true);
      expect(app.log.some((r) => r.status === 500)).toBe(true);
      const bulkRequests = app.log.filter((r) => r.path === '/Bulk');
      if (bulk) {
        // Writes went in Bulk requests, and some of those were lost or failed whole.
        expect(app.log.filter((r) => r.bulk && r.applied).length).toBeGreaterThan(20);
        expect(bulkRequests.some((r) => r.status === 'dropped' || r.status === 500)).toBe(true);
      } else expect(bulkRequests).toEqual([]);
      await api.json('DELETE', `/api/v1/providers/${provider.id}`, undefined, 204);
    },
    180_000,
  );

  it('sends writes singly from the moment an app refuses Bulk after declaring it', async () => {
    const app = await fakeApp({ bulk: 'refuse' });
    const users: string[] = [];
    for (let i = 0; i < 80; i++) users.push(await api.createUser({ userName: `nobulk${i}@example.com` }));
    const group = await api.createGroup('No bulk', users);
    const provider = await api.createProvider({
      name: 'Bulk refused',
      url: app.baseUrl,
      auth: bearer(app),
      scope: { users: 'groups', userGroupIds: [group], groups: 'selected', groupIds: [group] },
    });
    const run = await api.syncAndWait(provider.id);
    expect(run.status).toBe('succeeded');
    expect(app.users.size).toBe(80);
    expect(app.memberNames(app.groupByName('No bulk')[0]!)).toHaveLength(80);
    const refused = app.log.filter((r) => r.path === '/Bulk');
    expect(refused.length).toBeGreaterThanOrEqual(1);
    // Only the Bulk requests already on their way when the first 501 came back were sent.
    expect(refused.length).toBeLessThanOrEqual(16);
    expect(refused.every((r) => r.status === 501)).toBe(true);
    const posts = app.writes({ method: 'POST', path: '/Users' });
    expect(new Set(posts.map((r) => (r.body as { userName: string }).userName)).size).toBe(80);
    expect(posts).toHaveLength(80);
    await api.json('DELETE', `/api/v1/providers/${provider.id}`, undefined, 204);
  }, 60_000);

  it('loses nothing while the app is down, and catches up soon after it is back', async () => {
    const app = await fakeApp();
    const scope = await api.createGroup('Outage scope');
    const provider = await api.createProvider({
      name: 'Flaky app',
      url: app.baseUrl,
      auth: bearer(app),
      // The default retry policy: backoff from 1 s, capped at 30 s.
      scope: { users: 'groups', userGroupIds: [scope], groups: 'selected', groupIds: [scope] },
    });
    await api.syncAndWait(provider.id);
    app.clearLog();
    app.setDown(true);
    const created: string[] = [];
    for (let i = 0; i < 15; i++) {
      const id = await api.createUser({ userName: `outage${i}@example.com` });
      created.push(id);
    }
    await api.json(
      'POST',
      `/api/v1/groups/${scope}/members/add`,
      { members: created.map((id) => ({ type: 'user', id })) },
      200,
    );
    await api.json('PATCH', `/api/v1/users/${created[0]}`, { displayName: 'Changed during the outage' }, 200);
    // The outage lasts a minute, and the worker is still trying at its end (not given up).
    const downSince = Date.now();
    await eventually(
      () =>
        Date.now() - downSince >= OUTAGE_MS && app.refusedAt.some((at) => at - downSince >= OUTAGE_MS / 2),
      OUTAGE_MS + 40_000,
      'a minute of outage with retries in its second half',
    );
    expect(app.writes()).toEqual([]);
    const back = Date.now();
    app.setDown(false);
    await eventually(
      () => {
        expect(app.users.size).toBe(15);
        expect(app.memberNames(app.groupByName('Outage scope')[0]!)).toHaveLength(15);
        expect(app.userByName('outage0@example.com')!.displayName).toBe('Changed during the outage');
      },
      45_000,
      'catch-up after the outage',
    );
    // At most one backoff step (30 s with jitter) after the app is back.
    expect(Date.now() - back).toBeLessThan(40_000);
    const posts = app.writes({ method: 'POST', path: '/Users' });
    expect(posts).toHaveLength(15);
    await api.json('DELETE', `/api/v1/providers/${provider.id}`, undefined, 204);
  }, 180_000);

  it('pauses the provider with a clear status when the app refuses our credentials, and resumes with a full sync', async () => {
    const app = await fakeApp({ unauthorized: true });
    await api.createUser({ userName: 'refused@example.com' });
    const provider = await api.createProvider({
      name: 'Refusing app',
      url: app.baseUrl,
      auth: bearer(app),
      scope: { groups: 'none' },
    });
    const run = await api.syncAndWait(provider.id);
    expect(run.status).toBe('failed');
    expect(run.message).toMatch(/401/);
    const paused = await api.json('GET', `/api/v1/providers/${provider.id}`, undefined, 200);
    expect(paused.body).toMatchObject({ paused: true });
    expect(paused.body.pausedReason).toMatch(/refused our credentials \(401\)/);
    const metrics = await t.http.get('/metrics');
    expect(metrics.text).toContain(`identity_bridge_provider_paused{provider="${provider.id}"} 1`);
    await api.json('POST', `/api/v1/providers/${provider.id}/sync`, undefined, 409);

    app.options.unauthorized = false;
    await api.json('PATCH', `/api/v1/providers/${provider.id}`, { paused: false }, 200);
    const runs = await api.json('GET', `/api/v1/providers/${provider.id}/runs`, undefined, 200);
    const resumed = await waitForRun(t, provider.id, runs.body.items[0].id as string);
    expect(resumed).toMatchObject({ trigger: 'resume', status: 'succeeded' });
    expect(app.userByName('refused@example.com')).toBeDefined();
    await api.json('DELETE', `/api/v1/providers/${provider.id}`, undefined, 204);
  });
});

describe('provider settings and on-demand pushes', () => {
  it('authenticates with OAuth2 client credentials, caches the token and renews it once on 401', async () => {
    const app = await fakeApp({
      oauthClient: { clientId: 'bridge', clientSecret: 's3cret', expiresIn: 3600 },
    });
    const scope = await api.createGroup('OAuth scope');
    const provider = await api.createProvider({
      name: 'OAuth app',
      url: app.baseUrl,
      auth: {
        type: 'oauth2',
        tokenUrl: app.tokenUrl,
        clientId: 'bridge',
        clientSecret: 's3cret',
        scope: 'scim',
      },
      scope: { users: 'groups', userGroupIds: [scope], groups: 'none' },
    });
    expect(provider.auth).toEqual({
      type: 'oauth2',
      tokenUrl: app.tokenUrl,
      clientId: 'bridge',
      scope: 'scim',
      secretSet: true,
    });
    for (let i = 0; i < 5; i++) {
      const id = await api.createUser({ userName: `oauth${i}@example.com` });
      await api.json('POST', `/api/v1/groups/${scope}/members/add`, { members: [{ type: 'user', id }] }, 200);
    }
    await eventually(() => app.users.size === 5, 10_000, 'oauth users');
    expect(app.tokenRequests).toBe(1);
    app.issuedTokens.clear(); // the app revokes the token
    const id = await api.createUser({ userName: 'oauth-after@example.com' });
    await api.json('POST', `/api/v1/groups/${scope}/members/add`, { members: [{ type: 'user', id }] }, 200);
    await eventually(() => app.users.size === 6, 10_000, 'push after renewal');
    expect(app.tokenRequests).toBe(2);
    await api.json('DELETE', `/api/v1/providers/${provider.id}`, undefined, 204);
  });

  it('waits for a push of the same object by another job instead of answering busy', async () => {
    const app = await fakeApp();
    const user = await api.createUser({ userName: 'held@example.com' });
    const provider = await api.createProvider({
      name: 'Held',
      url: app.baseUrl,
      auth: bearer(app),
      scope: { groups: 'none' },
    });
    // A live process (this one) holds the object for one more second, as a running push would.
    const owner = `${t.app.get(ProcessPresence).processId}:another-job`;
    await t.database.dataSource.query(
      `INSERT INTO provider_connections (provider_id, object_type, local_id, lease_owner, lease_until)
       VALUES ($1, 'user', $2, $3, now() + interval '1 second')
       ON CONFLICT (provider_id, object_type, local_id)
       DO UPDATE SET lease_owner = EXCLUDED.lease_owner, lease_until = EXCLUDED.lease_until`,
      [provider.id, user, owner],
    );
    const pushed = await api.json(
      'POST',
      `/api/v1/providers/${provider.id}/objects/sync`,
      { type: 'user', id: user },
      200,
    );
    expect(pushed.body.outcome).toBe('created');
    expect(app.userByName('held@example.com')).toBeDefined();
    await api.json('DELETE', `/api/v1/providers/${provider.id}`, undefined, 204);
  });

  it('validates settings and keeps secrets write-only through a merge patch', async () => {
    const app = await fakeApp();
    await api.json(
      'POST',
      '/api/v1/providers',
      { name: 'Bad', url: 'ftp://x', auth: { type: 'bearer', token: 't' } },
      400,
    );
    await api.json(
      'POST',
      '/api/v1/providers',
      { name: 'Bad', url: app.baseUrl, auth: { type: 'bearer' } },
      400,
    );
    await api.json(
      'POST',
      '/api/v1/providers',
      { name: 'Bad', url: app.baseUrl, auth: bearer(app), schedule: { cron: 'nope' } },
      400,
    );
    await api.json(
      'POST',
      '/api/v1/providers',
      {
        name: 'Bad',
        url: app.baseUrl,
        auth: bearer(app),
        userMappings: ['00000000-0000-4000-8000-000000000000'],
      },
      400,
    );
    const provider = await api.createProvider({
      name: 'Settings',
      url: app.baseUrl,
      auth: bearer(app),
      schedule: { intervalMinutes: 60 },
    });
    expect(Date.parse(provider.nextSyncAt)).toBeGreaterThan(Date.now() + 55 * 60_000);
    await api.json(
      'POST',
      '/api/v1/providers',
      { name: 'settings', url: app.baseUrl, auth: bearer(app) },
      409,
    );
    const patched = await api.json(
      'PATCH',
      `/api/v1/providers/${provider.id}`,
      { maxConcurrency: 3, schedule: { paused: true } },
      200,
    );
    expect(patched.body).toMatchObject({
      maxConcurrency: 3,
      schedule: { intervalMinutes: 60, paused: true },
      nextSyncAt: null,
      auth: { type: 'bearer', secretSet: true },
    });
    // The stored token still works after a patch that did not name it.
    const user = await api.createUser({ userName: 'ondemand@example.com' });
    const pushed = await api.json(
      'POST',
      `/api/v1/providers/${provider.id}/objects/sync`,
      { type: 'user', id: user },
      200,
    );
    expect(pushed.body).toMatchObject({ outcome: expect.stringMatching(/created|unchanged/), dryRun: false });
    expect(app.userByName('ondemand@example.com')).toBeDefined();
    const again = await api.json(
      'POST',
      `/api/v1/providers/${provider.id}/objects/sync`,
      { type: 'user', id: user },
      200,
    );
    expect(again.body.outcome).toBe('unchanged');
    await api.json(
      'POST',
      `/api/v1/providers/${provider.id}/objects/sync`,
      { type: 'user', id: '00000000-0000-4000-8000-000000000000' },
      404,
    );
    await api.json(
      'PATCH',
      `/api/v1/providers/${provider.id}`,
      { auth: { type: 'oauth2', tokenUrl: app.tokenUrl, clientId: 'x' } },
      400,
    );
    await api.json('DELETE', `/api/v1/providers/${provider.id}`, undefined, 204);
  });

  it('starts a scheduled full sync when it is due, once, and moves the next time on', async () => {
    const app = await fakeApp();
    const provider = await api.createProvider({
      name: 'Scheduled',
      url: app.baseUrl,
      auth: bearer(app),
      schedule: { intervalMinutes: 30 },
      scope: { groups: 'none' },
    });
    await t.database.dataSource.query(
      `UPDATE providers SET next_sync_at = now() - interval '1 second' WHERE id = $1`,
      [provider.id],
    );
    await eventually(
      async () =>
        (await api.json('GET', `/api/v1/providers/${provider.id}/runs`, undefined, 200)).body.items.length >
        0,
      15_000,
      'the scheduled run',
    );
    const list = await api.json('GET', `/api/v1/providers/${provider.id}/runs`, undefined, 200);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0].trigger).toBe('schedule');
    const after = await api.json('GET', `/api/v1/providers/${provider.id}`, undefined, 200);
    expect(Date.parse(after.body.nextSyncAt)).toBeGreaterThan(Date.now() + 25 * 60_000);
    const metrics = await t.http.get('/metrics');
    expect(metrics.text).toContain(`identity_bridge_provider_queue_lag_seconds{provider="${provider.id}"}`);
    expect(metrics.text).toContain('identity_bridge_provider_pushes_total');
    await api.json('DELETE', `/api/v1/providers/${provider.id}`, undefined, 204);
  });

  it('runs the provider’s own mapping list: a skipped object is not sent, and a listed mapping cannot be deleted', async () => {
    const app = await fakeApp();
    const scope = await api.createGroup('Mapping scope');
    const mapping = await api.json(
      'POST',
      '/api/v1/property-mappings',
      {
        name: 'Skip contractors, tag the rest',
        scope: 'provider:user',
        expression: `if (user.title === 'Contractor') skipObject('contractors are not provisioned'); return { nickName: 'via-bridge' };`,
      },
      201,
    );
    const defaults = await api.json('GET', '/api/v1/property-mappings?scope=provider:user', undefined, 200);
    const managed = (defaults.body.items as { id: string; managedKey?: string }[])
      .filter((m) => m.managedKey)
      .map((m) => m.id);
    const provider = await api.createProvider({
      name: 'Mapped',
      url: app.baseUrl,
      auth: bearer(app),
      userMappings: [...managed, mapping.body.id],
      scope: { users: 'groups', userGroupIds: [scope], groups: 'none' },
    });
    const employee = await api.createUser({ userName: 'employee@example.com', title: 'Engineer' });
    const contractor = await api.createUser({ userName: 'contractor@example.com', title: 'Contractor' });
    await api.json(
      'POST',
      `/api/v1/groups/${scope}/members/add`,
      {
        members: [
          { type: 'user', id: employee },
          { type: 'user', id: contractor },
        ],
      },
      200,
    );
    const run = await api.syncAndWait(provider.id);
    expect(run).toMatchObject({ status: 'succeeded', counts: { skipped: 1, failed: 0 } });
    expect(app.userByName('employee@example.com')).toMatchObject({
      nickName: 'via-bridge',
      title: 'Engineer',
    });
    expect(app.userByName('contractor@example.com')).toBeUndefined();
    const deletion = await api.json('DELETE', `/api/v1/property-mappings/${mapping.body.id}`, undefined, 409);
    expect(deletion.body.detail).toContain('Mapped');
    await api.json('DELETE', `/api/v1/providers/${provider.id}`, undefined, 204);
    await api.json('DELETE', `/api/v1/property-mappings/${mapping.body.id}`, undefined, 204);
  });

  it('verifies the app’s TLS certificate unless told not to, and trusts a given CA bundle', async () => {
    const { cert, key } = selfSignedCertificate();
    const tlsApp = await fakeApp();
    const server = createHttpsServer({ cert, key }, (req, res) => {
      // Pass through to the fake app over plain HTTP.
      const target = new URL(tlsApp.baseUrl);
      const upstream = httpRequest(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as { port: number }).port}/scim/v2`;
    try {
      const user = await api.createUser({ userName: 'tls@example.com' });
      const strict = await api.createProvider({
        name: 'TLS strict',
        url,
        auth: bearer(tlsApp),
        scope: { groups: 'none' },
      });
      const refused = await api.json(
        'POST',
        `/api/v1/providers/${strict.id}/objects/sync`,
        { type: 'user', id: user },
        200,
      );
      expect(refused.body).toMatchObject({ outcome: 'failed', error: { kind: 'fatal' } });
      expect((await api.json('GET', `/api/v1/providers/${strict.id}`, undefined, 200)).body.paused).toBe(
        true,
      );
      await api.json('DELETE', `/api/v1/providers/${strict.id}`, undefined, 204);

      const trusting = await api.createProvider({
        name: 'TLS with CA',
        url,
        auth: bearer(tlsApp),
        tls: { verify: true, caBundle: cert },
        scope: { groups: 'none' },
      });
      const pushed = await api.json(
        'POST',
        `/api/v1/providers/${trusting.id}/objects/sync`,
        { type: 'user', id: user },
        200,
      );
      expect(pushed.body.outcome).toMatch(/created|updated/);
      await api.json('DELETE', `/api/v1/providers/${trusting.id}`, undefined, 204);

      tlsApp.users.clear();
      const lax = await api.createProvider({
        name: 'TLS lax',
        url,
        auth: bearer(tlsApp),
        tls: { verify: false },
        scope: { groups: 'none' },
      });
      const laxPush = await api.json(
        'POST',
        `/api/v1/providers/${lax.id}/objects/sync`,
        { type: 'user', id: user },
        200,
      );
      expect(laxPush.body.outcome).toBe('created');
      await api.json('DELETE', `/api/v1/providers/${lax.id}`, undefined, 204);
    } finally {
      server.close();
    }
  });

  it('collapses a burst of edits to one object into few pushes with the final state', async () => {
    const app = await fakeApp();
    const scope = await api.createGroup('Burst scope');
    const user = await api.createUser({ userName: 'burst@example.com' });
    await api.json(
      'POST',
      `/api/v1/groups/${scope}/members/add`,
      { members: [{ type: 'user', id: user }] },
      200,
    );
    const provider = await api.createProvider({
      name: 'Burst',
      url: app.baseUrl,
      auth: bearer(app),
      scope: { users: 'groups', userGroupIds: [scope], groups: 'none' },
    });
    await api.syncAndWait(provider.id);
    app.clearLog();
    app.faults.latencyMs = 150;
    for (let i = 1; i <= 10; i++)
      await api.json('PATCH', `/api/v1/users/${user}`, { title: `edit ${i}` }, 200);
    await eventually(() => app.userByName('burst@example.com')?.title === 'edit 10', 10_000, 'the last edit');
    app.faults.latencyMs = 0;
    const pushes = app.writes({ method: 'PATCH' });
    expect(pushes.length).toBeLessThanOrEqual(4);
    await api.json('DELETE', `/api/v1/providers/${provider.id}`, undefined, 204);
  });

  it('does not push back what came in through the linked source (no echo)', async () => {
    const app = await fakeApp();
    const other = await fakeApp();
    const source = await api.json(
      'POST',
      '/api/v1/sources',
      { name: 'Same system', slug: 'same-system' },
      201,
    );
    const scope = { groups: 'none' };
    const linked = await api.createProvider({
      name: 'Linked',
      url: app.baseUrl,
      auth: bearer(app),
      linkedSourceId: source.body.id,
      scope,
    });
    const unlinked = await api.createProvider({
      name: 'Unlinked',
      url: other.baseUrl,
      auth: bearer(other),
      scope,
    });
    const res = await fetchScim(
      `${t.baseUrl}/scim/same-system/v2`,
      source.body.token as string,
      'POST',
      '/Users',
      {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: 'echo@example.com',
      },
    );
    expect(res.status).toBe(201);
    await eventually(
      () => other.userByName('echo@example.com') !== undefined,
      10_000,
      'the unlinked provider gets it',
    );
    // Every change is dispatched: a push for the linked provider would be queued, running, or
    // done (then the app would have the user) by now.
    await eventually(
      async () =>
        Number(
          (
            (await t.database.dataSource.query(
              `SELECT count(*) AS n FROM change_events WHERE dispatched_at IS NULL`,
            )) as { n: string }[]
          )[0]!.n,
        ) === 0,
      10_000,
      'every change dispatched',
    );
    const queued = (await t.database.dataSource.query(
      `SELECT count(*) AS n FROM graphile_worker._private_jobs WHERE key LIKE $1`,
      [`scim-provider.push:${linked.id}:%`],
    )) as { n: string }[];
    expect(Number(queued[0]!.n)).toBe(0);
    expect(app.userByName('echo@example.com')).toBeUndefined();
    await api.json('DELETE', `/api/v1/providers/${linked.id}`, undefined, 204);
    await api.json('DELETE', `/api/v1/providers/${unlinked.id}`, undefined, 204);
  });
});

async function fetchScim(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** A throwaway self-signed certificate for 127.0.0.1 (openssl). */
function selfSignedCertificate(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ib-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return {
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
