import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
let document: { openapi: string; paths: Record<string, Record<string, { security?: unknown[] }>> };

beforeAll(async () => {
  t = await startTestApp();
  document = (await t.http.get('/api/docs-json').expect(200)).body;
});
afterAll(async () => t?.close());

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const DUMMY_ID = '00000000-0000-4000-8000-000000000000';

/** Every admin operation in the served document, with path parameters filled in. */
function adminOperations(): [string, (typeof METHODS)[number]][] {
  return Object.entries(document.paths)
    .filter(([path]) => path.startsWith('/api/v1/'))
    .flatMap(([path, item]) =>
      METHODS.filter((m) => item[m]).map(
        (m) => [path.replace(/\{[^}]+\}/g, DUMMY_ID), m] as [string, (typeof METHODS)[number]],
      ),
    );
}

describe('OpenAPI document', () => {
  it('is a valid OpenAPI 3 document', async () => {
    expect(document.openapi).toMatch(/^3\./);
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeDefined();
  });

  it('describes every admin operation with a summary, a success response and its error responses', () => {
    const ops = Object.entries(document.paths).flatMap(([path, item]) =>
      METHODS.filter((m) => item[m]).map((m) => ({
        path,
        method: m,
        op: item[m] as Record<string, unknown>,
      })),
    );
    expect(ops.length).toBeGreaterThan(10);
    for (const { path, method, op } of ops) {
      const responses = op.responses as Record<string, unknown>;
      expect(op.summary, `${method} ${path} summary`).toBeTruthy();
      expect(
        Object.keys(responses).some((s) => s.startsWith('2')),
        `${method} ${path} 2xx`,
      ).toBe(true);
      expect(responses['401'], `${method} ${path} 401`).toBeDefined();
      expect(
        op.security ?? (document as { security?: unknown }).security,
        `${method} ${path} security`,
      ).toBeDefined();
    }
  });

  it('serves Swagger UI without a token', async () => {
    const res = await t.http.get('/api/docs/').expect(200);
    expect(res.text).toContain('swagger');
  });
});

describe('authentication is required on every admin route', () => {
  it('lists the admin operations it checks', () => {
    expect(adminOperations().length).toBeGreaterThan(10);
  });

  it.each([
    ['no token', undefined],
    ['a wrong token', 'Bearer ibadm_AAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a malformed header', 'Basic dXNlcjpwYXNz'],
  ])('answers 401 problem+json with %s', async (_name, header) => {
    for (const [path, method] of adminOperations()) {
      const req = t.http[method](path);
      if (header) req.set('Authorization', header);
      const res = await req.send({});
      expect(res.status, `${method.toUpperCase()} ${path}`).toBe(401);
      expect(res.headers['content-type'], `${method.toUpperCase()} ${path}`).toMatch(
        /application\/problem\+json/,
      );
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    }
  });

  it('answers unknown admin routes with a problem+json 404', async () => {
    const res = await t.http.get('/api/v1/does-not-exist').expect(404);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
  });

  it('keeps health, readiness and metrics public', async () => {
    await t.http.get('/healthz').expect(200, { status: 'ok' });
    const ready = await t.http.get('/readyz').expect(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { database: true, migrations: true } });
    const metrics = await t.http.get('/metrics').expect(200);
    expect(metrics.text).toContain('identity_bridge_http_request_duration_seconds');
    expect(metrics.text).toContain('identity_bridge_db_pool_connections');
    expect(metrics.text).toContain('identity_bridge_process_resident_memory_bytes');
  });
});

describe('admin tokens', () => {
  it('creates a token that works, lists it without its secret, and revokes it', async () => {
    const created = await t.http
      .post('/api/v1/admin-tokens')
      .set('Authorization', t.auth)
      .send({ name: 'ci' })
      .expect(201);
    const token = created.body.token as string;
    expect(token).toMatch(/^ibadm_/);
    await t.http.get('/api/v1/users').set('Authorization', `Bearer ${token}`).expect(200);

    const list = await t.http.get('/api/v1/admin-tokens').set('Authorization', t.auth).expect(200);
    // The secret is the fixed-width tail (43 base64url characters, which may themselves contain '_').
    expect(JSON.stringify(list.body)).not.toContain(token.slice(-43));
    expect(list.body.items.some((i: { id: string }) => i.id === created.body.id)).toBe(true);

    await t.http
      .delete(`/api/v1/admin-tokens/${created.body.id}`)
      .set('Authorization', `Bearer ${token}`)
      .expect(409);
    await t.http.delete(`/api/v1/admin-tokens/${created.body.id}`).set('Authorization', t.auth).expect(204);
    await t.http.get('/api/v1/users').set('Authorization', `Bearer ${token}`).expect(401);
  });

  it('refuses an expired token', async () => {
    const created = await t.http
      .post('/api/v1/admin-tokens')
      .set('Authorization', t.auth)
      .send({ name: 'short-lived', expiresAt: new Date(Date.now() - 1000).toISOString() })
      .expect(201);
    await t.http.get('/api/v1/users').set('Authorization', `Bearer ${created.body.token}`).expect(401);
  });

  it('stores only a digest of each token', async () => {
    const created = await t.http
      .post('/api/v1/admin-tokens')
      .set('Authorization', t.auth)
      .send({ name: 'digest' })
      .expect(201);
    const rows: { digest: Buffer }[] = await t.database.dataSource.query(
      'SELECT digest FROM admin_tokens WHERE id = $1',
      [created.body.id],
    );
    expect(rows[0]!.digest).toHaveLength(32);
    const dump = JSON.stringify(await t.database.dataSource.query('SELECT * FROM admin_tokens'));
    expect(dump).not.toContain(created.body.token);
  });
});
