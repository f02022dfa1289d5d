import type supertest from 'supertest';
import type { TestApp } from './app.js';

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const SEARCH_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** A source created through the admin API, and a SCIM client bound to its base URL and token. */
export interface TestSource {
  id: string;
  slug: string;
  token: string;
  base: string;
  /** A SCIM request (`path` relative to the source's base URL), body sent as application/scim+json. */
  scim(method: Method, path: string, body?: unknown): supertest.Test;
  get(path: string): supertest.Test;
  post(path: string, body: unknown): supertest.Test;
  put(path: string, body: unknown): supertest.Test;
  patch(path: string, body: unknown): supertest.Test;
  delete(path: string): supertest.Test;
}

export async function createSource(
  t: TestApp,
  slug: string,
  settings: Record<string, unknown> = {},
): Promise<TestSource> {
  const res = await t.http
    .post('/api/v1/sources')
    .set('Authorization', t.auth)
    .send({ name: `Source ${slug}`, slug, ...settings });
  if (res.status !== 201)
    throw new Error(`creating source ${slug}: ${res.status} ${JSON.stringify(res.body)}`);
  return sourceClient(t, res.body.id, slug, res.body.token);
}

export function sourceClient(t: TestApp, id: string, slug: string, token: string): TestSource {
  const base = `/scim/${slug}/v2`;
  const scim = (method: Method, path: string, body?: unknown) => {
    const req = t.http[method](`${base}${path}`).set('Authorization', `Bearer ${token}`);
    if (body === undefined) return req;
    return req
      .set('Content-Type', 'application/scim+json')
      .send(typeof body === 'string' ? body : JSON.stringify(body));
  };
  return {
    id,
    slug,
    token,
    base,
    scim,
    get: (path) => scim('get', path),
    post: (path, body) => scim('post', path, body),
    put: (path, body) => scim('put', path, body),
    patch: (path, body) => scim('patch', path, body),
    delete: (path) => scim('delete', path),
  };
}

export const patchOp = (...Operations: Record<string, unknown>[]) => ({ schemas: [PATCH_OP], Operations });

export const scimUser = (userName: string, extra: Record<string, unknown> = {}) => ({
  schemas: [CORE_USER],
  userName,
  ...extra,
});

export const scimGroup = (displayName: string, extra: Record<string, unknown> = {}) => ({
  schemas: [CORE_GROUP],
  displayName,
  ...extra,
});

export const filterQuery = (filter: string) => `filter=${encodeURIComponent(filter)}`;

/** Directory rows, straight from the database (what downstream sync would see). */
export async function directoryUser(t: TestApp, id: string): Promise<Record<string, unknown> | undefined> {
  const rows = await t.database.dataSource.query('SELECT * FROM users WHERE id = $1', [id]);
  return rows[0];
}

export async function changeEvents(
  t: TestApp,
  objectId: string,
): Promise<
  { kind: string; origin_type: string; origin_id: string; detail: Record<string, unknown> | null }[]
> {
  return t.database.dataSource.query(
    'SELECT kind, origin_type, origin_id, detail FROM change_events WHERE object_id = $1 ORDER BY id',
    [objectId],
  );
}

export async function counts(
  t: TestApp,
): Promise<{ users: number; groups: number; links: number; events: number; memberships: number }> {
  const [row] = await t.database.dataSource.query(
    `SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM groups) AS groups,
            (SELECT count(*)::int FROM scim_links) AS links, (SELECT count(*)::int FROM change_events) AS events,
            (SELECT count(*)::int FROM memberships) AS memberships`,
  );
  return row;
}
