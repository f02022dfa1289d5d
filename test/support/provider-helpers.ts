import { expect } from 'vitest';
import type { TestApp } from './app.js';
import { waitFor } from './process.js';

/** Admin API calls a provider test needs, with the admin token. */
export function adminApi(t: TestApp) {
  const json = async (method: string, path: string, body?: unknown, expected?: number) => {
    const req = t.http[method.toLowerCase() as 'get'](path).set('Authorization', t.auth);
    const res = body === undefined ? await req : await req.send(body as object);
    if (expected !== undefined && res.status !== expected) {
      throw new Error(
        `${method} ${path} answered ${res.status}, expected ${expected}: ${JSON.stringify(res.body)}`,
      );
    }
    return res;
  };
  return {
    json,
    async createUser(body: Record<string, unknown>): Promise<string> {
      return (await json('POST', '/api/v1/users', body, 201)).body.id as string;
    },
    async createGroup(displayName: string, members: string[] = []): Promise<string> {
      const res = await json(
        'POST',
        '/api/v1/groups',
        { displayName, members: members.map((id) => ({ type: 'user', id })) },
        201,
      );
      return res.body.id as string;
    },
    async createProvider(body: Record<string, unknown>): Promise<Record<string, any>> {
      return (await json('POST', '/api/v1/providers', body, 201)).body;
    },
    /** Starts a full sync and waits for it to finish; returns the run. */
    async syncAndWait(providerId: string, timeoutMs = 60_000): Promise<Record<string, any>> {
      const started = await json('POST', `/api/v1/providers/${providerId}/sync`, undefined, 202);
      return waitForRun(t, providerId, started.body.runId as string, timeoutMs);
    },
  };
}

export async function waitForRun(
  t: TestApp,
  providerId: string,
  runId: string,
  timeoutMs = 60_000,
): Promise<Record<string, any>> {
  return waitFor(
    async () => {
      const res = await t.http
        .get(`/api/v1/providers/${providerId}/runs/${runId}`)
        .set('Authorization', t.auth);
      expect(res.status).toBe(200);
      return ['succeeded', 'partial', 'failed'].includes(res.body.status)
        ? (res.body as Record<string, any>)
        : undefined;
    },
    timeoutMs,
    `run ${runId} to finish`,
  );
}

/** Waits until `check` passes (it throws or returns false while not yet). */
export async function eventually(
  check: () => unknown,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  await waitFor(
    async () => {
      const ok = await check();
      return ok === false ? undefined : true;
    },
    timeoutMs,
    what,
  );
}
