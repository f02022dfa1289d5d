import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Pool } from 'undici';
import type { DataSource } from 'typeorm';
import { createDataSource } from '../src/platform/database/data-source.js';
import { EmbeddedPostgres } from '../src/platform/database/embedded-postgres.js';
import { migrate } from '../src/platform/database/migrate.js';
import { fmt } from './support.js';

/** Shared by bench:sync and the crash soak: bridge processes, HTTP helpers, seeding. */
export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdefghijklmnop';
export const SECRET_KEY = 'bench-secret-key-0123456789abcdefghijklmnop';
export const SCIM_JSON = 'application/scim+json';

export interface Bridge {
  child: ChildProcess;
  port: number;
  base: string;
  http: Pool;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<number | string | null>;
  call(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: any }>;
  stop(): Promise<void>;
}

export interface BenchServer {
  /** A new, migrated database; its DataSource is open in this process (small pool). */
  database(label: string): Promise<{ url: string; dataSource: DataSource }>;
  close(): Promise<void>;
}

/**
 * One PostgreSQL server for a benchmark (DATABASE_URL's, or an embedded cluster in a temporary
 * folder) holding several fresh databases, all dropped afterwards.
 */
export async function benchServer(): Promise<BenchServer> {
  let embedded: EmbeddedPostgres | undefined;
  let dataDir: string | undefined;
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    dataDir = mkdtempSync(join(tmpdir(), 'ib-bench-'));
    embedded = new EmbeddedPostgres({ dataDir });
    await embedded.start();
    serverUrl = embedded.url('postgres');
  }
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const created: { name: string; dataSource: DataSource }[] = [];
  return {
    async database(label) {
      const name = `ib_bench_${label}_${randomBytes(3).toString('hex')}`;
      await admin(`CREATE DATABASE ${name}`);
      const parsed = new URL(serverUrl);
      parsed.pathname = `/${name}`;
      const url = parsed.toString();
      const dataSource = createDataSource(url, { poolSize: 3, applicationName: 'identity-bridge-bench' });
      await dataSource.initialize();
      await migrate(dataSource);
      created.push({ name, dataSource });
      return { url, dataSource };
    },
    async close() {
      for (const { name, dataSource } of created) {
        await dataSource.destroy().catch(() => undefined);
        await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      }
      await embedded?.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address() as { port: number };
      probe.close(() => resolve(address.port));
    });
  });
}

/** Starts the built bridge (`dist/src/main.js`) as its own process and waits until it is ready. */
export async function startBridge(
  databaseUrl: string,
  role: 'all' | 'api' | 'worker',
  connections = 16,
): Promise<Bridge> {
  const port = await freePort();
  const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
  // BENCH_<ROLE>_ARGS passes extra node flags to that process, e.g. BENCH_WORKER_ARGS=--cpu-prof.
  const extra = (process.env[`BENCH_${role.toUpperCase()}_ARGS`] ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, ['--no-node-snapshot', ...extra, main], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      SECRET_KEY,
      ADMIN_TOKEN,
      ROLE: role,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the ${role} bridge exited with ${child.exitCode}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the ${role} bridge did not become ready within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const base = `http://127.0.0.1:${port}`;
  const http = new Pool(base, { connections, pipelining: 1 });
  return {
    child,
    port,
    base,
    http,
    exited,
    async call(method, path, body, token = ADMIN_TOKEN) {
      const res = await http.request({
        method: method as 'GET',
        path,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': path.startsWith('/scim/') ? SCIM_JSON : 'application/json',
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.body.text();
      return { status: res.statusCode, json: text ? (JSON.parse(text) as unknown) : undefined };
    },
    async stop() {
      await http.close();
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

export function expectStatus(result: { status: number; json: unknown }, status: number, what: string): void {
  if (result.status !== status)
    throw new Error(`${what}: expected ${status}, got ${result.status} ${JSON.stringify(result.json)}`);
}

/** Peak resident set size of a process (VmHWM), in MB. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/**
 * Seeds the directory with SQL (no outbox events: the full sync does the work): `users` users
 * shaped like an IdP's, and `groups` groups of `perGroup` members each.
 */
export async function seedDirectory(
  db: DataSource,
  users: number,
  groups: number,
  perGroup: number,
  prefix = 'sync',
): Promise<void> {
  await db.query(
    `INSERT INTO users (user_name, external_id, display_name, attributes)
     SELECT '${prefix}' || i || '@example.com', 'ext-${prefix}-' || i, 'User ' || i,
            jsonb_build_object(
              'name', jsonb_build_object('givenName', 'User', 'familyName', i::text),
              'emails', jsonb_build_array(jsonb_build_object('value', '${prefix}' || i || '@example.com', 'type', 'work', 'primary', true)),
              'title', 'Engineer',
              'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
                jsonb_build_object('employeeNumber', i::text, 'department', 'D' || (i % 50)))
       FROM generate_series(0, $1 - 1) AS i`,
    [users],
  );
  await db.query(
    `INSERT INTO groups (display_name, external_id) SELECT 'Group ' || g, 'grp-' || g FROM generate_series(0, $1 - 1) AS g`,
    [groups],
  );
  await db.query(
    `INSERT INTO memberships (group_id, member_user_id)
     SELECT g.id, u.id FROM groups g CROSS JOIN generate_series(0, $1 - 1) AS k
       JOIN users u ON u.external_id = 'ext-${prefix}-' || ((substring(g.external_id FROM 5)::int * $1 + k) % $2)
      WHERE g.external_id LIKE 'grp-%'`,
    [perGroup, users],
  );
  await db.query('ANALYZE users; ANALYZE groups; ANALYZE memberships');
}

/** A bridge's /metrics, in Prometheus text format. */
async function metricsText(bridge: Bridge): Promise<string> {
  return (await fetch(`${bridge.base}/metrics`)).text();
}

/** Sum of the bridge's HTTP requests matching a route prefix and methods (from its /metrics). */
export async function requestCount(bridge: Bridge, routePrefix: string, methods: string[]): Promise<number> {
  const text = await metricsText(bridge);
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('identity_bridge_http_request_duration_seconds_count{')) continue;
    const method = /method="([^"]+)"/.exec(line)?.[1];
    const route = /route="([^"]+)"/.exec(line)?.[1] ?? '';
    if (method && methods.includes(method) && route.startsWith(routePrefix))
      total += Number(line.split(' ').pop());
  }
  return total;
}

/** The sum and count of an unlabelled histogram, read from a bridge's /metrics. */
export async function histogramTotals(
  bridge: Bridge,
  metric: string,
): Promise<{ sum: number; count: number }> {
  const text = await metricsText(bridge);
  const value = (suffix: string) =>
    Number(new RegExp(`^${metric}_${suffix} (.+)$`, 'm').exec(text)?.[1] ?? 0);
  return { sum: value('sum'), count: value('count') };
}

export async function waitForRun(
  bridge: Bridge,
  providerId: string,
  runId: string,
  timeoutMs: number,
  onProgress?: (run: any) => void,
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await bridge.call('GET', `/api/v1/providers/${providerId}/runs/${runId}`);
    expectStatus(res, 200, 'read run');
    onProgress?.(res.json);
    if (['succeeded', 'partial', 'failed'].includes(res.json.status)) return res.json;
    if (Date.now() > deadline)
      throw new Error(`run ${runId} did not finish within ${timeoutMs} ms: ${JSON.stringify(res.json)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Mean of a histogram per label value, from a process's /metrics: `{ label: [count, mean ms] }`. */
export async function histogramMeans(
  bridge: Bridge,
  metric: string,
  labels: string[],
): Promise<Record<string, [number, number]>> {
  const text = await metricsText(bridge);
  const sums = new Map<string, number>();
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${metric}_(sum|count)\\{(.*)\\} (.+)$`).exec(line);
    if (!m) continue;
    const key = labels.map((label) => new RegExp(`${label}="([^"]+)"`).exec(m[2]!)?.[1] ?? '').join(' ');
    const map = m[1] === 'sum' ? sums : counts;
    map.set(key, (map.get(key) ?? 0) + Number(m[3]));
  }
  const out: Record<string, [number, number]> = {};
  for (const [key, count] of counts) if (count > 0) out[key] = [count, ((sums.get(key) ?? 0) / count) * 1000];
  return out;
}

/** CPU seconds (user + system) a process has used so far; 0 when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (100/s)
  } catch {
    return 0;
  }
}

/**
 * CPU use per component between two points: bridge processes by name, and the PostgreSQL backends
 * serving each database (by pid from pg_stat_activity; backends that come and go are missed).
 */
export async function cpuSnapshot(
  db: DataSource,
  processes: Record<string, number>,
): Promise<Map<string, number>> {
  const snapshot = new Map<string, number>();
  for (const [name, pid] of Object.entries(processes)) snapshot.set(name, cpuSeconds(pid));
  const backends: { pid: number; datname: string | null }[] = await db.query(
    `SELECT pid, datname FROM pg_stat_activity WHERE datname LIKE 'ib_bench_%'`,
  );
  for (const b of backends) snapshot.set(`pg:${b.pid}:${b.datname}`, cpuSeconds(b.pid));
  return snapshot;
}

/** CPU seconds used between two snapshots, summed per component (`pg <database label>` for backends). */
export function cpuUsed(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const used: Record<string, number> = {};
  for (const [key, value] of after) {
    if (!before.has(key)) continue;
    const label = key.startsWith('pg:')
      ? `pg ${key
          .split(':')[2]!
          .replace(/^ib_bench_/, '')
          .replace(/_[0-9a-f]+$/, '')}`
      : key;
    used[label] = (used[label] ?? 0) + (value - before.get(key)!);
  }
  return used;
}

/** A bridge's event loop delay since its last scrape (prom-client resets the histogram on each). */
export async function eventLoopLag(bridge: Bridge): Promise<string> {
  const text = await metricsText(bridge);
  const ms = (name: string) =>
    fmt(
      Number(
        new RegExp(`^identity_bridge_nodejs_eventloop_lag_${name}_seconds (.+)$`, 'm').exec(text)?.[1] ?? NaN,
      ) * 1000,
      1,
    );
  return `mean ${ms('mean')} ms, p99 ${ms('p99')} ms, max ${ms('max')} ms`;
}
