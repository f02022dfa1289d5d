import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { benchDatabase, fmt, machine, percentile, runConcurrently } from './support.js';

/**
 * bench:scim-source — the inbound SCIM server over real HTTP, the bridge running as its own
 * process (ROLE=api) on a fresh database:
 *
 * 1. POST /Users creates per second at concurrency 16 (each one: token check, SCIM validation,
 *    the source's property mappings in the sandbox, directory user + link row + outbox event in
 *    one transaction);
 * 2. `userName eq` filter latency at 100,000 users (the users beyond those created in step 1 are
 *    seeded with SQL into the same tables, the filter is measured over HTTP);
 * 3. one PATCH adding 5,000 members to a group that already has 50,000.
 */
const CREATES = Number(process.env.BENCH_CREATES ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const TOTAL_USERS = Number(process.env.BENCH_USERS ?? 100_000);
const FILTERS = Number(process.env.BENCH_FILTERS ?? 2_000);
const GROUP_SIZE = 50_000;
const ADDED = 5_000;
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdefghijklmnop';
const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const SCIM_JSON = 'application/scim+json';

const db = await benchDatabase(4);
const port = await freePort();
const server = await startBridge(db.url, port);
const http = new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY, pipelining: 1 });

async function call(
  method: 'GET' | 'POST' | 'PATCH',
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await http.request({
    method,
    path,
    headers: { authorization: `Bearer ${token}`, 'content-type': SCIM_JSON, accept: SCIM_JSON },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? (JSON.parse(text) as unknown) : undefined };
}

function expectStatus(result: { status: number; json: unknown }, status: number, what: string): void {
  if (result.status !== status)
    throw new Error(`${what}: expected ${status}, got ${result.status} ${JSON.stringify(result.json)}`);
}

try {
  console.log(`bench:scim-source — ${machine()}, bridge as a child process (ROLE=api), HTTP client undici`);
  console.log(
    `${cpus().length} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at start (other work on the machine skews every figure)`,
  );

  const created = await call('POST', '/api/v1/sources', ADMIN_TOKEN, { name: 'Bench IdP', slug: 'bench' });
  expectStatus(created, 201, 'create source');
  const source = created.json as { id: string; token: string };
  const base = '/scim/bench/v2';

  // 1. Creates at concurrency 16 (after a short warm-up).
  const user = (i: number, prefix: string) => ({
    schemas: [CORE_USER, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
    userName: `${prefix}.${i}@example.com`,
    externalId: `${prefix}-${i}`,
    displayName: `User ${i}`,
    active: true,
    name: { givenName: 'User', familyName: String(i) },
    emails: [{ value: `${prefix}.${i}@example.com`, type: 'work', primary: true }],
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': {
      employeeNumber: String(i),
      department: `D${i % 50}`,
    },
  });
  await runConcurrently(500, CONCURRENCY, async (i) =>
    expectStatus(await call('POST', `${base}/Users`, source.token, user(i, 'warm')), 201, 'warm-up create'),
  );
  const started = process.hrtime.bigint();
  await runConcurrently(CREATES, CONCURRENCY, async (i) =>
    expectStatus(await call('POST', `${base}/Users`, source.token, user(i, 'user')), 201, 'create'),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    `POST /Users: ${fmt(CREATES / seconds)} creates/s at concurrency ${CONCURRENCY} (${fmt(CREATES)} users in ${fmt(seconds, 1)} s)`,
  );

  // 2. Seed up to TOTAL_USERS through the same tables, then time `userName eq` over HTTP.
  const seeded = Math.max(0, Math.max(TOTAL_USERS, GROUP_SIZE + 3 * ADDED) - CREATES - 500);
  const seedStarted = Date.now();
  await db.dataSource.query(
    `WITH ins AS (
       INSERT INTO users (user_name, external_id, display_name, attributes)
       SELECT 'seed.' || i || '@example.com', 'seed-' || i, 'Seed ' || i,
              jsonb_build_object('name', jsonb_build_object('givenName', 'Seed', 'familyName', i::text),
                                 'emails', jsonb_build_array(jsonb_build_object('value', 'seed.' || i || '@example.com', 'type', 'work', 'primary', true)))
         FROM generate_series(1, $1::int) AS i
       RETURNING id, user_name, external_id, display_name, attributes)
     INSERT INTO scim_links (source_id, id, resource_type, user_id, payload, user_name, external_id, display_name)
     SELECT $2, id, 'User', id,
            jsonb_build_object('schemas', jsonb_build_array('${CORE_USER}'), 'userName', user_name, 'externalId', external_id,
                               'displayName', display_name, 'active', true) || attributes,
            user_name, external_id, display_name
       FROM ins`,
    [seeded, source.id],
  );
  // As a directory of this size would be in steady state: vacuumed and analysed, so autovacuum does
  // not start on the fresh rows in the middle of the measurement.
  await db.dataSource.query('VACUUM (ANALYZE) users');
  await db.dataSource.query('VACUUM (ANALYZE) scim_links');
  const total = Number(
    (await db.dataSource.query(`SELECT count(*) AS n FROM scim_links WHERE source_id = $1`, [source.id]))[0]
      .n,
  );
  console.log(
    `seeded ${fmt(seeded)} users with SQL in ${fmt((Date.now() - seedStarted) / 1000, 1)} s: ${fmt(total)} users in the source`,
  );

  const lookup = async (k: number): Promise<number> => {
    const i = 1 + ((k * 7919) % seeded);
    const name = k % 2 ? `SEED.${i}@example.com` : `seed.${i}@EXAMPLE.COM`;
    const t0 = process.hrtime.bigint();
    const result = await call(
      'GET',
      `${base}/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}`,
      source.token,
    );
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    expectStatus(result, 200, 'filter');
    if ((result.json as { totalResults: number }).totalResults !== 1)
      throw new Error(`filter for ${name} found ${JSON.stringify(result.json)}`);
    return ms;
  };
  for (let k = 0; k < 200; k++) await lookup(k + FILTERS);
  const timings: number[] = [];
  for (let k = 0; k < FILTERS; k++) timings.push(await lookup(k));
  timings.sort((a, b) => a - b);
  console.log(
    `GET /Users?filter=userName eq "…" at ${fmt(total)} users: p50 ${fmt(percentile(timings, 50), 2)} ms, p99 ${fmt(percentile(timings, 99), 2)} ms (${fmt(FILTERS)} sequential requests, round trip)`,
  );

  // 3. A group with 50,000 members (seeded with SQL), then one PATCH adding 5,000 more.
  const group = await call('POST', `${base}/Groups`, source.token, {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    displayName: 'Everyone',
  });
  expectStatus(group, 201, 'create group');
  const groupId = (group.json as { id: string }).id;
  const ids: { id: string }[] = await db.dataSource.query(
    `SELECT id FROM scim_links WHERE source_id = $1 AND resource_type = 'User' ORDER BY id LIMIT $2`,
    [source.id, GROUP_SIZE + 3 * ADDED],
  );
  if (ids.length < GROUP_SIZE + 3 * ADDED) throw new Error('not enough users for the group benchmark');
  await db.dataSource.query(
    `INSERT INTO memberships (group_id, member_user_id) SELECT $1, unnest($2::uuid[])`,
    [groupId, ids.slice(0, GROUP_SIZE).map((r) => r.id)],
  );
  await db.dataSource.query('ANALYZE memberships');
  const patchTimes: number[] = [];
  for (let round = 0; round < 3; round++) {
    const members = ids
      .slice(GROUP_SIZE + round * ADDED, GROUP_SIZE + (round + 1) * ADDED)
      .map((r) => ({ value: r.id }));
    const t0 = process.hrtime.bigint();
    const result = await call('PATCH', `${base}/Groups/${groupId}`, source.token, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'add', path: 'members', value: members }],
    });
    patchTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
    expectStatus(result, 204, 'patch members');
  }
  const count = Number(
    (await db.dataSource.query('SELECT count(*) AS n FROM memberships WHERE group_id = $1', [groupId]))[0].n,
  );
  if (count !== GROUP_SIZE + 3 * ADDED)
    throw new Error(`group has ${count} members, expected ${GROUP_SIZE + 3 * ADDED}`);
  const events = Number(
    (
      await db.dataSource.query(
        `SELECT count(*) AS n FROM change_events WHERE object_id = $1 AND kind = 'members_added'`,
        [groupId],
      )
    )[0].n,
  );
  console.log(
    `PATCH adding ${fmt(ADDED)} members to a group of ${fmt(GROUP_SIZE)}: ${fmt(patchTimes[0]!, 0)} ms ` +
      `(then ${patchTimes
        .slice(1)
        .map((t) => `${fmt(t, 0)} ms`)
        .join(
          ', ',
        )} at ${fmt(GROUP_SIZE + ADDED)} and ${fmt(GROUP_SIZE + 2 * ADDED)}; ${events} outbox events)`,
  );
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at the end`,
  );
} finally {
  await http.close();
  await stopBridge(server);
  await db.close();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address() as { port: number };
      probe.close(() => resolve(address.port));
    });
  });
}

async function startBridge(databaseUrl: string, listenPort: number): Promise<ChildProcess> {
  const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
  // BENCH_BRIDGE_ARGS passes extra node flags to the bridge, e.g. "--cpu-prof" to profile it.
  const extra = (process.env.BENCH_BRIDGE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, ['--no-node-snapshot', ...extra, main], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      SECRET_KEY: 'bench-secret-key-0123456789abcdefghijklmnop',
      ADMIN_TOKEN,
      ROLE: 'api',
      PORT: String(listenPort),
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the bridge exited with ${child.exitCode}`);
    try {
      const res = await fetch(`http://127.0.0.1:${listenPort}/readyz`);
      if (res.ok) return child;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('the bridge did not become ready within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stopBridge(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
