import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_SIZE, PAGES_AT_ONCE } from '../../src/modules/scim-provider/engine/full-sync.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { FakeScimServer } from '../support/fake-scim-server.js';
import { buildIfStale, freePort, startService, waitFor, type ServiceProcess } from '../support/process.js';
import { adminApi, waitForRun } from '../support/provider-helpers.js';

/**
 * `kill -9` of the worker process in the middle of a full sync: after a new worker starts, the run
 * finishes and the app's state is exact, with no object created twice. The worker is the built
 * service (`dist/src/main.js`, ROLE=worker) on this test's database; this process serves only the
 * admin API (ROLE=api). (bench/sync-crash.soak.ts does the same at 10,000 users.)
 */
const USERS = 2000;
const GROUPS = 20;
const PER_GROUP = 50;

let t: TestApp;
let app: FakeScimServer;
const workers: ServiceProcess[] = [];

beforeAll(async () => {
  buildIfStale();
  t = await startTestApp({ env: { ROLE: 'api' } });
  app = new FakeScimServer();
  await app.start();
  app.faults.latencyMs = 3; // a sync of a few seconds: long enough to kill it in the middle
}, 300_000);

afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  await t?.close();
  await app?.stop();
});

async function startWorker(): Promise<ServiceProcess> {
  const worker = startService({
    ROLE: 'worker',
    DATABASE_URL: t.testDatabase.url,
    SECRET_KEY: t.config.secretKey,
    PORT: String(await freePort()),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  });
  workers.push(worker);
  return worker;
}

describe('a worker killed in the middle of a full sync', () => {
  it('finishes the run after a restart, with the exact state and no duplicate creates', async () => {
    const db = t.database.dataSource;
    await db.query(
      `INSERT INTO users (user_name, display_name, attributes)
       SELECT 'crash' || i || '@example.com', 'Crash ' || i,
              jsonb_build_object('emails', jsonb_build_array(jsonb_build_object('value', 'crash' || i || '@example.com', 'type', 'work', 'primary', true)))
         FROM generate_series(0, $1 - 1) AS i`,
      [USERS],
    );
    await db.query(
      `INSERT INTO groups (display_name) SELECT 'Crash group ' || g FROM generate_series(0, $1 - 1) AS g`,
      [GROUPS],
    );
    await db.query(
      `INSERT INTO memberships (group_id, member_user_id)
       SELECT g.id, u.id FROM groups g JOIN users u
         ON (substring(u.user_name FROM 'crash(\\d+)@')::int / $1) = substring(g.display_name FROM 'Crash group (\\d+)')::int`,
      [PER_GROUP],
    );

    const api = adminApi(t);
    const provider = await api.createProvider({
      name: 'Crash app',
      url: app.baseUrl,
      auth: { type: 'bearer', token: app.options.token },
    });
    const { body } = await api.json('POST', `/api/v1/providers/${provider.id}/sync`, undefined, 202);
    const runId = body.runId as string;

    const first = await startWorker();
    const progress = async () =>
      (await api.json('GET', `/api/v1/providers/${provider.id}/runs/${runId}`, undefined, 200)).body as {
        done: number;
        status: string;
      };
    await waitFor(
      async () => {
        if (first.child.exitCode !== null) throw new Error(`worker exited: ${first.output()}`);
        return app.writes({ method: 'POST', path: '/Users' }).length >= USERS / 3 ? true : undefined;
      },
      120_000,
      'a third of the users to be created',
    );
    // Pages wait their turn: one process pushes at most PAGES_AT_ONCE pages of a provider, so at
    // most that many pages' objects are leased (all 8 pages would be, otherwise).
    const [{ leased }] = await db.query(
      `SELECT count(*)::int AS leased FROM provider_connections WHERE provider_id = $1 AND lease_owner IS NOT NULL`,
      [provider.id],
    );
    expect(leased).toBeGreaterThan(0);
    expect(leased).toBeLessThanOrEqual(PAGES_AT_ONCE * PAGE_SIZE);
    first.child.kill('SIGKILL');
    await first.exited;
    const atKill = app.writes({ method: 'POST', path: '/Users' }).length;
    expect(atKill).toBeLessThan(USERS);
    expect((await progress()).status).toBe('running');

    const second = await startWorker();
    const run = await waitForRun(t, provider.id, runId, 180_000);
    expect(run).toMatchObject({ status: 'succeeded', total: USERS + GROUPS, counts: { failed: 0 } });

    expect(app.users.size).toBe(USERS);
    expect(app.groups.size).toBe(GROUPS);
    const creates = app
      .writes({ method: 'POST', path: '/Users' })
      .map((r) => (r.body as { userName: string }).userName);
    expect(new Set(creates).size).toBe(creates.length);
    for (let g = 0; g < GROUPS; g++) {
      const [group, ...duplicates] = app.groupByName(`Crash group ${g}`);
      expect(duplicates).toHaveLength(0);
      expect(app.memberNames(group!)).toEqual(
        Array.from({ length: PER_GROUP }, (_, i) => `crash${g * PER_GROUP + i}@example.com`).sort(),
      );
    }

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 400_000);
});
