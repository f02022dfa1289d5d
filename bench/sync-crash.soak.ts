import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { fmt, machine } from './support.js';
import {
  benchServer,
  expectStatus,
  seedDirectory,
  startBridge,
  waitForRun,
  type Bridge,
} from './sync-support.js';

/**
 * Soak: `kill -9` of the worker in the middle of a 10,000-user full sync.
 *
 *   node scripts/build-if-stale.mjs && node --no-node-snapshot dist/bench/sync-crash.soak.js
 *
 * Our bridge runs as an API process and a worker process (ROLE=worker) on one database; the
 * downstream app is a second bridge serving SCIM through a source. When about a third of the
 * objects are done the worker is killed with SIGKILL and a new one started. The run must finish
 * and the app must hold exactly the directory: every user once, every group once, with exactly
 * its members. Exits non-zero otherwise. (test/e2e/scim-provider-crash.test.ts is the 2,000-user
 * version in the suite.)
 */
const USERS = Number(process.env.SOAK_USERS ?? 10_000);
const GROUPS = Number(process.env.SOAK_GROUPS ?? 200);
const PER_GROUP = Number(process.env.SOAK_PER_GROUP ?? 50);
const KILL_AT = Number(process.env.SOAK_KILL_AT ?? Math.round(USERS / 3));

const server = await benchServer();
const bridges: Bridge[] = [];
let failed = false;
try {
  console.log(
    `soak: kill -9 mid full sync — ${machine()}; ${fmt(USERS)} users, ${fmt(GROUPS)} groups × ${PER_GROUP}`,
  );
  const up = await server.database('up');
  const down = await server.database('down');
  await seedDirectory(up.dataSource, USERS, GROUPS, PER_GROUP);
  const app = await startBridge(down.url, 'api');
  bridges.push(app);
  const api = await startBridge(up.url, 'api');
  bridges.push(api);
  const source = await app.call('POST', '/api/v1/sources', { name: 'Downstream app', slug: 'app' });
  expectStatus(source, 201, 'create the app’s source');
  const provider = await api.call('POST', '/api/v1/providers', {
    name: 'Downstream app',
    url: `${app.base}/scim/app/v2`,
    auth: { type: 'bearer', token: source.json.token },
    maxConcurrency: 16,
  });
  expectStatus(provider, 201, 'create provider');
  const providerId = provider.json.id as string;

  const first = await startBridge(up.url, 'worker');
  const started = performance.now();
  const sync = await api.call('POST', `/api/v1/providers/${providerId}/sync`);
  expectStatus(sync, 202, 'start sync');
  const runId = sync.json.runId as string;
  for (;;) {
    const [{ n }] = (await down.dataSource.query(`SELECT count(*)::int AS n FROM users`)) as { n: number }[];
    if (n >= KILL_AT) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  first.child.kill('SIGKILL');
  await first.exited;
  const [{ n: atKill }] = (await down.dataSource.query(`SELECT count(*)::int AS n FROM users`)) as {
    n: number;
  }[];
  console.log(
    `killed the worker (SIGKILL) after ${fmt((performance.now() - started) / 1000, 1)} s with ${fmt(atKill)} users in the app`,
  );

  const restarted = performance.now();
  const second = await startBridge(up.url, 'worker');
  bridges.push(second);
  const run = await waitForRun(api, providerId, runId, 30 * 60_000);
  console.log(
    `run ${run.status} ${fmt((performance.now() - restarted) / 1000, 1)} s after the restart (${fmt((performance.now() - started) / 1000, 1)} s in all): done ${fmt(run.done)} / ${fmt(run.total)}, ${JSON.stringify(run.counts)}`,
  );
  if (run.status !== 'succeeded') failed = true;

  // The app's state, compared with the directory: users by userName, groups by name with members.
  const expected: { g: string; u: string }[] = await up.dataSource.query(
    `SELECT g.display_name AS g, u.user_name AS u FROM memberships m JOIN groups g ON g.id = m.group_id JOIN users u ON u.id = m.member_user_id`,
  );
  const actual: { g: string; u: string }[] = await down.dataSource.query(
    `SELECT g.display_name AS g, u.user_name AS u FROM memberships m JOIN groups g ON g.id = m.group_id JOIN users u ON u.id = m.member_user_id
      WHERE u.user_name NOT LIKE 'raw%'`,
  );
  const key = (r: { g: string; u: string }) => `${r.g}\t${r.u.toLowerCase()}`;
  const want = new Set(expected.map(key));
  const have = new Set(actual.map(key));
  const missing = [...want].filter((k) => !have.has(k));
  const extra = [...have].filter((k) => !want.has(k));
  const [{ users, distinct }] = (await down.dataSource.query(
    `SELECT count(*)::int AS users, count(DISTINCT lower(user_name))::int AS distinct FROM users`,
  )) as { users: number; distinct: number }[];
  const duplicateGroups: { display_name: string }[] = await down.dataSource.query(
    `SELECT display_name FROM groups GROUP BY display_name HAVING count(*) > 1`,
  );
  const [{ groups }] = (await down.dataSource.query(`SELECT count(*)::int AS groups FROM groups`)) as {
    groups: number;
  }[];
  console.log(
    `app state: ${fmt(users)} users (${fmt(distinct)} distinct, expected ${fmt(USERS)}), ${fmt(groups)} groups (expected ${fmt(GROUPS)}, ${duplicateGroups.length} duplicated), memberships missing ${missing.length}, extra ${extra.length}`,
  );
  if (
    users !== USERS ||
    distinct !== USERS ||
    groups !== GROUPS ||
    duplicateGroups.length ||
    missing.length ||
    extra.length
  )
    failed = true;
  console.log(failed ? 'SOAK FAILED' : 'soak passed: the run finished and the app state is exact');
} finally {
  for (const bridge of bridges.reverse()) await bridge.stop().catch(() => undefined);
  await server.close();
}
process.exit(failed ? 1 : 0);
