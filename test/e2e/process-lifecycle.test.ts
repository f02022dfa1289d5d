import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIfStale, freePort, startService, waitFor, type ServiceProcess } from '../support/process.js';

const TOKEN = 'lifecycle-admin-token-0123456789abcdefghij';
let dataDir: string;
let port: number;
let running: ServiceProcess | undefined;

beforeAll(async () => {
  buildIfStale();
  dataDir = mkdtempSync(join(tmpdir(), 'ib-lifecycle-'));
  port = await freePort();
}, 240_000);

afterAll(async () => {
  if (running && running.child.exitCode === null) {
    running.child.kill('SIGTERM');
    await running.exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

const base = () => `http://127.0.0.1:${port}`;

async function boot(): Promise<{ service: ServiceProcess; ms: number }> {
  const started = Date.now();
  const service = startService({
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    ADMIN_TOKEN: TOKEN,
  });
  running = service;
  await waitFor(
    async () => {
      if (service.child.exitCode !== null) throw new Error(`service exited: ${service.output()}`);
      const res = await fetch(`${base()}/healthz`);
      return res.status === 200 ? true : undefined;
    },
    60_000,
    'GET /healthz to answer 200',
  );
  return { service, ms: Date.now() - started };
}

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${base()}${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', ...init.headers },
  });

describe('the service process on the embedded database', () => {
  let userId: string;

  it('starts on a fresh DATA_DIR, serves the admin API, and stops cleanly on SIGTERM', async () => {
    const { service } = await boot();
    const res = await admin('/api/v1/users', {
      method: 'POST',
      body: JSON.stringify({ userName: 'durable@example.com' }),
    });
    expect(res.status).toBe(201);
    userId = ((await res.json()) as { id: string }).id;
    expect(readFileSync(join(dataDir, 'secret.key'), 'utf8').trim().length).toBeGreaterThanOrEqual(32);

    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    expect(service.output()).toContain('stopped cleanly');
    // The embedded cluster was shut down with the service.
    expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  });

  it('keeps the data across a restart', async () => {
    const { service } = await boot();
    const res = await admin(`/api/v1/users/${userId}`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { userName: string }).userName).toBe('durable@example.com');
    const created = await admin('/api/v1/users', {
      method: 'POST',
      body: JSON.stringify({ userName: 'before-crash@example.com' }),
    });
    expect(created.status).toBe(201);

    service.child.kill('SIGKILL');
    await service.exited;
    // The orphaned postmaster still holds the cluster.
    expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(true);
  });

  it('recovers after kill -9: the stale postmaster is cleared and committed data is there', async () => {
    const { service } = await boot();
    const res = await admin('/api/v1/users?q=before-crash');
    const body = (await res.json()) as { items: { userName: string }[] };
    expect(body.items.map((u) => u.userName)).toEqual(['before-crash@example.com']);
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
  });
});
