import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createSource, scimUser, sourceClient } from '../support/scim-source.js';

/** The admin API over sources: settings, tokens (shown once, stored hashed, rotatable), and what 401s. */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { PUBLIC_URL: 'https://bridge.example.com' } });
});
afterAll(async () => t?.close());

const admin = () => ({ Authorization: t.auth });

async function managedIds(scope: string): Promise<string[]> {
  const res = await t.http.get(`/api/v1/property-mappings?scope=${scope}&limit=500`).set(admin()).expect(200);
  return (res.body.items as { id: string; managed: boolean }[]).filter((m) => m.managed).map((m) => m.id);
}

describe('sources', () => {
  it('creates a source with its SCIM base URL, the managed mappings and a token shown once', async () => {
    const res = await t.http
      .post('/api/v1/sources')
      .set(admin())
      .send({ name: 'Entra ID', slug: 'entra-prod' })
      .expect(201);
    expect(res.body).toMatchObject({
      id: expect.any(String),
      slug: 'entra-prod',
      name: 'Entra ID',
      enabled: true,
      deleteBehavior: 'delete',
      scimBaseUrl: 'https://bridge.example.com/scim/entra-prod/v2',
      userMappings: await managedIds('source:user'),
      groupMappings: await managedIds('source:group'),
      tokenPrefix: expect.any(String),
      tokenExpiresAt: null,
    });
    expect(res.body.token).toMatch(/^ibsrc_/);
    expect(res.body.token).toContain(res.body.tokenPrefix);

    const read = await t.http.get(`/api/v1/sources/${res.body.id}`).set(admin()).expect(200);
    expect(read.body).not.toHaveProperty('token');
    const list = await t.http.get('/api/v1/sources').set(admin()).expect(200);
    expect(JSON.stringify(list.body)).not.toContain(res.body.token);
    const stored = JSON.stringify(await t.database.dataSource.query('SELECT * FROM scim_source_tokens'));
    const secret = (res.body.token as string).slice(`ibsrc_${res.body.tokenPrefix}_`.length); // the prefix may contain "_"
    expect(secret).toHaveLength(43);
    expect(stored).not.toContain(secret);
  });

  it.each([
    ['an uppercase slug', { name: 'x', slug: 'Entra' }],
    ['a slug with a slash', { name: 'x', slug: 'a/b' }],
    ['a slug over 64 characters', { name: 'x', slug: 'a'.repeat(65) }],
    ['no name', { slug: 'noname' }],
    ['an unknown delete behaviour', { name: 'x', slug: 'x1', deleteBehavior: 'archive' }],
    ['a mapping id that is not a uuid', { name: 'x', slug: 'x2', userMappings: ['nope'] }],
    ['an unknown mapping', { name: 'x', slug: 'x3', userMappings: ['8b6e4d5f-0000-4000-8000-000000000000'] }],
    ['an unknown field', { name: 'x', slug: 'x4', colour: 'red' }],
  ])('refuses %s with 400 problem+json', async (_name, body) => {
    const res = await t.http.post('/api/v1/sources').set(admin()).send(body).expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
  });

  it('refuses a group mapping in the user list', async () => {
    const [groupMapping] = await managedIds('source:group');
    const res = await t.http
      .post('/api/v1/sources')
      .set(admin())
      .send({ name: 'x', slug: 'x5', userMappings: [groupMapping] })
      .expect(400);
    expect(res.body.code).toBe('mapping_unusable');
  });

  it('keeps slugs unique and immutable', async () => {
    await t.http.post('/api/v1/sources').set(admin()).send({ name: 'Okta', slug: 'okta' }).expect(201);
    const dup = await t.http
      .post('/api/v1/sources')
      .set(admin())
      .send({ name: 'Okta 2', slug: 'okta' })
      .expect(409);
    expect(dup.body.code).toBe('source_slug_taken');
    const id = (await t.http.get('/api/v1/sources?limit=500').set(admin()).expect(200)).body.items.find(
      (s: { slug: string }) => s.slug === 'okta',
    ).id;
    const res = await t.http.patch(`/api/v1/sources/${id}`).set(admin()).send({ slug: 'okta-2' }).expect(400);
    expect(res.body.code).toBe('source_slug_immutable');
    await t.http
      .patch(`/api/v1/sources/${id}`)
      .set(admin())
      .send({ slug: 'okta', name: 'Okta (prod)' })
      .expect(200);
  });

  it('changes settings with a merge patch; null restores the managed mappings', async () => {
    const src = await createSource(t, 'settings');
    const patched = await t.http
      .patch(`/api/v1/sources/${src.id}`)
      .set(admin())
      .set('Content-Type', 'application/merge-patch+json')
      .send(JSON.stringify({ name: 'Renamed', deleteBehavior: 'deactivate', userMappings: [] }))
      .expect(200);
    expect(patched.body).toMatchObject({
      name: 'Renamed',
      deleteBehavior: 'deactivate',
      userMappings: [],
      slug: 'settings',
    });
    const restored = await t.http
      .patch(`/api/v1/sources/${src.id}`)
      .set(admin())
      .send({ userMappings: null })
      .expect(200);
    expect(restored.body.userMappings).toEqual(await managedIds('source:user'));
    await t.http.patch(`/api/v1/sources/${src.id}`).set(admin()).send({ name: null }).expect(400);
    await t.http.patch(`/api/v1/sources/${src.id}`).set(admin()).send({ enabled: 'no' }).expect(400);
    await t.http
      .patch('/api/v1/sources/8b6e4d5f-0000-4000-8000-000000000000')
      .set(admin())
      .send({ name: 'x' })
      .expect(404);
  });

  it('pages the list with limit and cursor', async () => {
    for (let i = 0; i < 3; i++) await createSource(t, `page-${i}`);
    const first = await t.http.get('/api/v1/sources?limit=2').set(admin()).expect(200);
    expect(first.body.items).toHaveLength(2);
    const second = await t.http
      .get(`/api/v1/sources?limit=2&cursor=${first.body.nextCursor}`)
      .set(admin())
      .expect(200);
    expect(second.body.items[0].id > first.body.items[1].id).toBe(true);
  });
});

describe('source tokens', () => {
  it('rotates: the new token works, the old one stops at once by default', async () => {
    const src = await createSource(t, 'rotate');
    await src.get('/Users').expect(200);
    const rotated = await t.http.post(`/api/v1/sources/${src.id}/token`).set(admin()).send({}).expect(201);
    expect(rotated.body.token).toMatch(/^ibsrc_/);
    await src.get('/Users').expect(401);
    await sourceClient(t, src.id, src.slug, rotated.body.token).get('/Users').expect(200);
  });

  it('keeps the old token valid during graceSeconds', async () => {
    const src = await createSource(t, 'grace');
    const rotated = await t.http
      .post(`/api/v1/sources/${src.id}/token`)
      .set(admin())
      .send({ graceSeconds: 3600 })
      .expect(201);
    await src.get('/Users').expect(200);
    await sourceClient(t, src.id, src.slug, rotated.body.token).get('/Users').expect(200);
    // A second rotation without grace ends every earlier token's grace.
    const again = await t.http
      .post(`/api/v1/sources/${src.id}/token`)
      .set(admin())
      .send({ graceSeconds: 0 })
      .expect(201);
    await src.get('/Users').expect(401);
    await sourceClient(t, src.id, src.slug, rotated.body.token).get('/Users').expect(401);
    await sourceClient(t, src.id, src.slug, again.body.token).get('/Users').expect(200);
    await t.http.post(`/api/v1/sources/${src.id}/token`).set(admin()).send({ graceSeconds: -1 }).expect(400);
  });

  it('refuses an expired token', async () => {
    const src = await createSource(t, 'expired', {
      tokenExpiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    const res = await src.get('/Users').expect(401);
    expect(res.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '401',
    });
    const renewed = await t.http
      .post(`/api/v1/sources/${src.id}/token`)
      .set(admin())
      .send({ expiresAt: new Date(Date.now() + 3_600_000).toISOString() })
      .expect(201);
    expect(renewed.body.tokenExpiresAt).toEqual(expect.any(String));
    await sourceClient(t, src.id, src.slug, renewed.body.token).get('/Users').expect(200);
  });

  it('answers 401 while the source is disabled, and after it is removed', async () => {
    const src = await createSource(t, 'toggle');
    await src.post('/Users', scimUser('kept@example.com')).expect(201);
    await t.http.patch(`/api/v1/sources/${src.id}`).set(admin()).send({ enabled: false }).expect(200);
    await src.get('/Users').expect(401);
    await src.get('/ServiceProviderConfig').expect(401);
    await t.http.patch(`/api/v1/sources/${src.id}`).set(admin()).send({ enabled: true }).expect(200);
    await src.get('/Users').expect(200);
    await t.http.delete(`/api/v1/sources/${src.id}`).set(admin()).expect(204);
    await src.get('/Users').expect(401);
    await t.http.get(`/api/v1/sources/${src.id}`).set(admin()).expect(404);
    // The users it provisioned stay in the directory.
    const users = await t.http.get('/api/v1/users?q=kept@example.com').set(admin()).expect(200);
    expect(users.body.items).toHaveLength(1);
  });

  it('answers 401 for missing, malformed and unknown tokens', async () => {
    await createSource(t, 'auth');
    for (const header of [
      undefined,
      'Bearer',
      'Basic dXNlcjpwYXNz',
      'Bearer ibsrc_AAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      `Bearer ${t.auth}`,
    ]) {
      const req = t.http.get('/scim/auth/v2/Users');
      if (header) req.set('Authorization', header);
      const res = await req.expect(401);
      expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    }
  });
});

describe('mapping lists', () => {
  it('runs the source’s own mappings, in order, and keeps a listed mapping from being deleted', async () => {
    const mapping = await t.http
      .post('/api/v1/property-mappings')
      .set(admin())
      .send({
        name: 'Department from title',
        scope: 'source:user',
        expression:
          "return { 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'From ' + (scim.title ?? 'nothing') } };",
      })
      .expect(201);
    const src = await createSource(t, 'mapped', {
      userMappings: [...(await managedIds('source:user')), mapping.body.id],
    });
    const created = await src
      .post('/Users', scimUser('mapped@example.com', { title: 'Engineering' }))
      .expect(201);
    const row = (
      await t.database.dataSource.query('SELECT attributes FROM users WHERE id = $1', [created.body.id])
    )[0];
    expect(row.attributes['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User']).toEqual({
      department: 'From Engineering',
    });
    // The source still sees what it sent.
    expect(created.body).not.toHaveProperty('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User');

    const refused = await t.http
      .delete(`/api/v1/property-mappings/${mapping.body.id}`)
      .set(admin())
      .expect(409);
    expect(refused.body.code).toBe('mapping_in_use');
    expect(refused.body.detail).toContain('mapped');
  });

  it('answers 400 with the reason when a mapping skips the object, and writes nothing', async () => {
    const skip = await t.http
      .post('/api/v1/property-mappings')
      .set(admin())
      .send({
        name: 'No contractors',
        scope: 'source:user',
        expression:
          "if (scim.userType === 'Contractor') skipObject('contractors are not provisioned'); return null;",
      })
      .expect(201);
    const src = await createSource(t, 'skipping', {
      userMappings: [...(await managedIds('source:user')), skip.body.id],
    });
    const res = await src
      .post('/Users', scimUser('contractor@example.com', { userType: 'Contractor' }))
      .expect(400);
    expect(res.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
    expect(res.body.detail).toContain('contractors are not provisioned');
    expect(
      await t.database.dataSource.query("SELECT id FROM users WHERE user_name = 'contractor@example.com'"),
    ).toEqual([]);
    await src.post('/Users', scimUser('employee@example.com', { userType: 'Employee' })).expect(201);
  });

  it('answers 400 when a mapping throws, naming the mapping', async () => {
    const broken = await t.http
      .post('/api/v1/property-mappings')
      .set(admin())
      .send({ name: 'Broken', scope: 'source:group', expression: 'return scim.nothing.deeper;' })
      .expect(201);
    const src = await createSource(t, 'broken', { groupMappings: [broken.body.id] });
    const res = await src
      .post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'G' })
      .expect(400);
    expect(res.body.detail).toContain('Broken');
  });
});
