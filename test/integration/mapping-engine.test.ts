import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  userToView,
  viewToUserInput,
  UsersService,
  type UserView,
} from '../../src/modules/directory/index.js';
import {
  defaultMappingIds,
  MappingEngine,
  PropertyMappingsService,
  type MappingScope,
} from '../../src/modules/property-mapping/index.js';
import { MappingSandbox } from '../../src/modules/property-mapping/engine/mapping-sandbox.js';
import { DomainError } from '../../src/platform/errors/domain-error.js';
import { startTestApp, type TestApp } from '../support/app.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

let t: TestApp;
let engine: MappingEngine;
let mappings: PropertyMappingsService;
let counter = 0;

beforeAll(async () => {
  t = await startTestApp();
  engine = t.app.get(MappingEngine, { strict: false });
  mappings = t.app.get(PropertyMappingsService, { strict: false });
});
afterAll(async () => t?.close());

async function mapping(
  expression: string,
  scope: MappingScope = 'provider:user',
  name = `m${++counter}`,
): Promise<string> {
  const created = await mappings.create({ name, scope, expression });
  return created.id;
}

async function failure(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (rejected: unknown) => rejected,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

const sampleUser = (n: number): UserView => ({
  id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  userName: `user${n}@example.com`,
  displayName: `User ${n}`,
  active: true,
  kind: 'person',
  externalId: null,
  emails: [{ value: `user${n}@example.com`, type: 'work', primary: true }],
  groups: [],
});

const run = (ids: string[], user: UserView = sampleUser(1)) =>
  engine.run('provider:user', ids, { user, provider: { id: 'p', name: 'App' }, connection: null });

describe('MappingEngine', () => {
  it('runs mappings in list order: a later scalar wins', async () => {
    const a = await mapping("return { schemas: ['" + CORE_USER + "'], userName: 'a', title: 'from a' };");
    const b = await mapping("return { title: 'from b' };");
    expect((await run([a, b])).result.title).toBe('from b');
    expect((await run([b, a])).result.title).toBe('from a');
  });

  it('deep-merges contributions (objects by key, emails by identity, null removes) and reports each one', async () => {
    const base = defaultMappingIds('provider:user');
    const extra = await mapping(
      "return { name: { familyName: 'Lovelace' }, emails: [{ value: 'ada@home.example', type: 'home', primary: true }], displayName: null };",
    );
    const user = { ...sampleUser(2), name: { givenName: 'Ada' } };
    const outcome = await run([...base, extra], user);
    expect(outcome.result.name).toEqual({ givenName: 'Ada', familyName: 'Lovelace' });
    expect(outcome.result.emails).toEqual([
      { value: 'user2@example.com', type: 'work', primary: false },
      { value: 'ada@home.example', type: 'home', primary: true },
    ]);
    expect(outcome.result).not.toHaveProperty('displayName');
    expect(outcome.contributions.map((c) => c.mappingId)).toEqual([...base, extra]);
    expect(outcome.contributions[1]!.contribution).toMatchObject({ displayName: null });
  });

  it('skips null/undefined contributions', async () => {
    const none = await mapping('if (user.title) return { title: user.title };');
    const outcome = await run([...defaultMappingIds('provider:user'), none]);
    expect(outcome.contributions[1]!.contribution).toBeNull();
    expect(outcome.result.userName).toBe('user1@example.com');
  });

  it('stops at skipObject() with the reason and the mapping', async () => {
    const skip = await mapping(
      "if (user.userName.startsWith('svc-')) skipObject('service accounts are not synced'); return null;",
      'provider:user',
      'No service accounts',
    );
    const after = await mapping("throw new Error('must not run');");
    const error = await failure(run([skip, after], { ...sampleUser(3), userName: 'svc-backup' }));
    expect(error.code).toBe('object_skipped');
    expect(error.kind).toBe('validation');
    expect(error.details).toMatchObject({
      reason: 'service accounts are not synced',
      mappingName: 'No service accounts',
    });
  });

  it('fails only the object a mapping fails on: the next objects carry on', async () => {
    const picky = await mapping(
      "if (user.userName === 'user13@example.com') throw new Error('no thirteen');\nreturn { schemas: ['" +
        CORE_USER +
        "'], userName: user.userName };",
      'provider:user',
      'Picky',
    );
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) => run([picky], sampleUser(i))),
    );
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    expect(failed).toEqual([13]);
    const error = (results[13] as PromiseRejectedResult).reason as DomainError;
    expect(error.code).toBe('mapping_failed');
    expect(error.details).toMatchObject({
      mappingId: picky,
      mappingName: 'Picky',
      failureKind: 'runtime',
      line: 1,
    });
    expect(String(error.details.message)).toContain('no thirteen');
    expect(
      (results[14] as PromiseFulfilledResult<{ result: Record<string, unknown> }>).value.result.userName,
    ).toBe('user14@example.com');
  });

  it('names the mapping(s) and the attribute when the merged result is invalid', async () => {
    const base = defaultMappingIds('provider:user');
    const badType = await mapping('return { active: 17 };', 'provider:user', 'Numeric active');
    const e1 = await failure(run([...base, badType]));
    expect(e1.code).toBe('mapping_result_invalid');
    expect(e1.details).toMatchObject({ attribute: 'active', mappingNames: ['Numeric active'] });

    const undeclared = await mapping(
      `return { 'urn:example:params:scim:schemas:extension:acme:2.0:User': { badge: 'x' } };`,
      'provider:user',
      'Undeclared extension',
    );
    const noSchemas = await mapping(
      "return { schemas: null, userName: 'x' };",
      'provider:user',
      'No schemas',
    );
    const e2 = await failure(
      run([await mapping(`return { schemas: ['${CORE_USER}'], userName: 'u' };`), undeclared]),
    );
    expect(e2.details).toMatchObject({
      attribute: 'urn:example:params:scim:schemas:extension:acme:2.0:User',
      mappingNames: ['Undeclared extension'],
    });
    // A known extension that carries data is declared for the mapping, as lib/scim does.
    const enterprise = await mapping(`return { '${ENTERPRISE}': { costCenter: 'CC-1' } };`);
    const declared = await run([
      await mapping(`return { schemas: ['${CORE_USER}'], userName: 'u' };`),
      enterprise,
    ]);
    expect(declared.result).toEqual({
      schemas: [CORE_USER, ENTERPRISE],
      userName: 'u',
      [ENTERPRISE]: { costCenter: 'CC-1' },
    });
    const e3 = await failure(run([...base, noSchemas]));
    expect(e3.details).toMatchObject({ attribute: 'schemas', mappingNames: ['No schemas'] });

    const badEmail = await mapping(
      "return { emails: [{ value: { at: 'home' }, type: 'home' }] };",
      'provider:user',
      'Object email',
    );
    const e6 = await failure(run([...base, badEmail], { ...sampleUser(5) }));
    expect(e6.details).toMatchObject({
      attribute: 'emails[1].value',
      mappingNames: ['Default: directory user → SCIM', 'Object email'],
    });

    const unknown = await mapping(
      "return { favouriteColour: 'blue' };",
      'provider:user',
      'Unknown attribute',
    );
    const e4 = await failure(run([...base, unknown]));
    expect(e4.details).toMatchObject({ attribute: 'favouriteColour', mappingNames: ['Unknown attribute'] });

    const noUserName = await mapping(
      "return { userName: null, displayName: 'still here' };",
      'source:user',
      'Drops userName',
    );
    const e5 = await failure(
      engine.run('source:user', [...defaultMappingIds('source:user'), noUserName], {
        scim: { schemas: [CORE_USER], userName: 'x@example.com' },
        source: { id: 's', slug: 's', name: 'S' },
        user: null,
      }),
    );
    expect(e5.details).toMatchObject({ attribute: 'userName', mappingNames: ['Drops userName'] });
  });

  it('passes declared custom extensions out as objects, and refuses undeclared or non-object ones', async () => {
    const ext = 'urn:example:params:scim:schemas:extension:acme:2.0:User';
    const declared = await mapping(
      `return { schemas: ['${CORE_USER}', '${ext}'], '${ext}': { badge: '42' } };`,
    );
    const outcome = await run([...defaultMappingIds('provider:user'), declared]);
    expect(outcome.result.schemas).toEqual([CORE_USER, ext]);
    expect(outcome.result[ext]).toEqual({ badge: '42' });
    const scalar = await mapping(`return { schemas: ['${CORE_USER}', '${ext}'], '${ext}': 'x' };`);
    expect((await failure(run([...defaultMappingIds('provider:user'), scalar]))).details.attribute).toBe(ext);
  });

  it('refuses membership in a group result: it is structural', async () => {
    const members = await mapping("return { members: [{ value: 'x' }] };", 'provider:group', 'Members');
    const error = await failure(
      engine.run('provider:group', [...defaultMappingIds('provider:group'), members], {
        group: { id: 'g', displayName: 'G' },
        provider: { id: 'p', name: 'P' },
        connection: null,
      }),
    );
    expect(error.details).toMatchObject({ attribute: 'members', mappingNames: ['Members'] });
  });

  it('gives source:* mappings each top-level attribute as a variable, with source and user', async () => {
    const vars = await mapping(
      'return { userName: lower(userName), displayName: join([name.givenName, name.familyName]), title: source.slug + (user ? "/update" : "/create"), ' +
        `'${ENTERPRISE}': { department: enterpriseUser.department } };`,
      'source:user',
    );
    const outcome = await engine.run('source:user', [vars], {
      scim: {
        schemas: [CORE_USER, ENTERPRISE],
        userName: 'ADA@Example.com',
        name: { givenName: 'Ada', familyName: 'Lovelace' },
        [ENTERPRISE]: { department: 'R&D' },
      },
      source: { id: 's1', slug: 'entra', name: 'Entra ID' },
      user: null,
    });
    expect(outcome.result).toEqual({
      userName: 'ada@example.com',
      displayName: 'Ada Lovelace',
      title: 'entra/create',
      [ENTERPRISE]: { department: 'R&D' },
    });
  });

  it('sees a changed mapping at once (compiled code is cached per version)', async () => {
    const created = await mappings.create({
      name: 'Versioned',
      scope: 'provider:user',
      expression: "return { title: 'v1' };",
    });
    const ids = [...defaultMappingIds('provider:user'), created.id];
    expect((await run(ids)).result.title).toBe('v1');
    await mappings.replace(created.id, {
      name: 'Versioned',
      scope: 'provider:user',
      expression: "return { title: 'v2' };",
    });
    expect((await run(ids)).result.title).toBe('v2');
  });

  it('refuses unknown ids and mappings of another scope', async () => {
    const error = await failure(
      run(['00000000-0000-4000-8000-000000000000', ...defaultMappingIds('source:user')]),
    );
    expect(error.code).toBe('mapping_unusable');
    await expect(
      mappings.assertUsable('provider:user', defaultMappingIds('provider:user')),
    ).resolves.toBeUndefined();
    await expect(
      mappings.assertUsable('provider:user', defaultMappingIds('provider:group')),
    ).rejects.toMatchObject({ code: 'mapping_unusable' });
    await expect(mappings.assertUsable('provider:user', ['nope'])).rejects.toMatchObject({
      code: 'mapping_unusable',
      kind: 'validation',
    });
  });
});

describe('objects mapped at the same time (one call into the isolate for several objects)', () => {
  const concurrently = (ids: string[], users: UserView[]) =>
    Promise.allSettled(users.map((u) => run(ids, u)));
  const oneByOne = async (ids: string[], users: UserView[]) => {
    const outcomes: PromiseSettledResult<Awaited<ReturnType<typeof run>>>[] = [];
    for (const u of users) outcomes.push((await Promise.allSettled([run(ids, u)]))[0]!);
    return outcomes;
  };
  const strip = (outcomes: PromiseSettledResult<Awaited<ReturnType<typeof run>>>[]) =>
    outcomes.map((o) =>
      o.status === 'fulfilled'
        ? { result: o.value.result, contributions: o.value.contributions.map((c) => c.contribution) }
        : { error: (o.reason as DomainError).code, details: (o.reason as DomainError).details },
    );

  it('gives exactly the results of mapping them one by one, failures included', async () => {
    const sandbox = t.app.get(MappingSandbox, { strict: false });
    const spy = vi.spyOn(sandbox, 'evaluateAll');
    const custom = await mapping(
      "if (user.userName === 'user5@example.com') throw new Error('five');\n" +
        "if (user.userName === 'user6@example.com') skipObject('six');\n" +
        "if (user.userName === 'user7@example.com') return 'seven';\n" +
        'return { title: upper(user.displayName), nickName: emailLocalPart(primaryOf(user.emails).value) };',
    );
    const ids = [...defaultMappingIds('provider:user'), custom];
    const users = Array.from({ length: 40 }, (_, i) => sampleUser(i));
    const together = strip(await concurrently(ids, users));
    const batchedCalls = spy.mock.calls.filter(([mappings]) => mappings[0]!.id.startsWith('batch:')).length;
    spy.mockRestore();
    expect(batchedCalls).toBeGreaterThan(0);
    expect(batchedCalls).toBeLessThan(users.length);
    expect(together).toEqual(strip(await oneByOne(ids, users)));
    expect(together.filter((o) => 'error' in o).map((o) => (o as { error: string }).error)).toEqual([
      'mapping_failed',
      'object_skipped',
      'mapping_failed',
    ]);
  });

  it('fails only the object that loops forever or exhausts memory when objects share a call', async () => {
    const hostile = await mapping(
      "if (user.userName === 'user3@example.com') { while (true) {} }\n" +
        "if (user.userName === 'user4@example.com') { const a = []; for (;;) a.push(new Array(1e6).fill(1.5)); }\n" +
        'return { title: user.displayName };',
      'provider:user',
      'Hostile for some',
    );
    const outcomes = await concurrently(
      [...defaultMappingIds('provider:user'), hostile],
      Array.from({ length: 10 }, (_, i) => sampleUser(i)),
    );
    const failed = outcomes.flatMap((o, i) =>
      o.status === 'rejected' ? [[i, (o.reason as DomainError).details.failureKind as string]] : [],
    );
    expect(failed.map(([index]) => index)).toEqual([3, 4]);
    expect(failed[0]![1]).toBe('timeout');
    expect(['memory', 'timeout']).toContain(failed[1]![1]); // on a starved machine the allocations may run out of time first
    const ok = outcomes[5] as PromiseFulfilledResult<{ result: Record<string, unknown> }>;
    expect(ok.value.result.title).toBe('User 5');
  });

  it('fixes a contribution when its mapping returns, as the single-object path does', async () => {
    const first = await mapping(
      `return { schemas: ['${CORE_USER}'], userName: user.userName, name: user.name };`,
    );
    const second = await mapping("user.name.givenName = 'changed'; return null;");
    const users = Array.from({ length: 8 }, (_, i) => ({ ...sampleUser(i), name: { givenName: `G${i}` } }));
    const outcomes = await concurrently([first, second], users);
    for (const [i, outcome] of outcomes.entries()) {
      expect(outcome.status).toBe('fulfilled');
      expect(
        (outcome as PromiseFulfilledResult<{ result: Record<string, unknown> }>).value.result.name,
      ).toEqual({ givenName: `G${i}` });
    }
  });

  it('still skips an object whose mapping catches its own skipObject()', async () => {
    const sneaky = await mapping("try { skipObject('caught'); } catch (e) {} return { title: 'x' };");
    const outcomes = await concurrently(
      [...defaultMappingIds('provider:user'), sneaky],
      [sampleUser(1), sampleUser(2), sampleUser(3)],
    );
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({
        code: 'object_skipped',
        details: { reason: 'caught' },
      });
    }
  });

  it("keeps the batch's own names out of reach and the expressions untouched", async () => {
    const probe = await mapping(
      "const $value = '@@ARGS@@ $c $objects'; " +
        'return { title: $value, nickName: [typeof objects, typeof out, typeof fns, typeof input, typeof $copy].join() };',
    );
    const outcomes = await concurrently(
      [...defaultMappingIds('provider:user'), probe],
      [sampleUser(1), sampleUser(2)],
    );
    for (const outcome of outcomes) {
      const result = (outcome as PromiseFulfilledResult<{ result: Record<string, unknown> }>).value.result;
      expect(result.title).toBe('@@ARGS@@ $c $objects');
      expect(result.nickName).toBe('undefined,undefined,undefined,undefined,undefined');
    }
  });

  it('copies a context that JSON cannot carry exactly (a Date stays a Date)', async () => {
    const probe = await mapping(
      `return { schemas: ['${CORE_USER}'], userName: user.userName, title: String(connection.at instanceof Date) };`,
    );
    const outcomes = await Promise.all(
      [1, 2, 3].map((i) =>
        engine.run('provider:user', [probe], {
          user: sampleUser(i),
          provider: null,
          connection: { at: new Date(0) },
        }),
      ),
    );
    expect(outcomes.map((o) => o.result.title)).toEqual(['true', 'true', 'true']);
  });
});

describe('managed defaults', () => {
  it('carry an Entra ID user in and out with the same attributes', async () => {
    const entra = {
      schemas: [CORE_USER, ENTERPRISE],
      externalId: '0a4f1c2e-entra-object-id',
      userName: 'AdeleV@contoso.com',
      active: true,
      displayName: 'Adele Vance',
      title: 'Retail Manager',
      preferredLanguage: 'en-US',
      name: { formatted: 'Adele Vance', familyName: 'Vance', givenName: 'Adele' },
      emails: [{ value: 'AdeleV@contoso.com', type: 'work', primary: true }],
      phoneNumbers: [
        { value: '+1 425 555 0109', type: 'work', primary: true },
        { value: '+1 425 555 0110', type: 'mobile', primary: false },
      ],
      addresses: [
        {
          type: 'work',
          streetAddress: '18 Main St',
          locality: 'Seattle',
          region: 'WA',
          postalCode: '98052',
          country: 'US',
          primary: true,
        },
      ],
      [ENTERPRISE]: {
        employeeNumber: '1234',
        department: 'Retail',
        costCenter: 'CC-7',
        organization: 'Contoso',
        division: 'West',
      },
    };
    const inbound = await engine.run('source:user', defaultMappingIds('source:user'), {
      scim: entra,
      source: { id: 's', slug: 'entra', name: 'Entra ID' },
      user: null,
    });
    const users = t.app.get(UsersService, { strict: false });
    const stored = await users.create(viewToUserInput(inbound.result as UserView), {
      type: 'system',
      id: null,
    });
    const view = { ...userToView(await users.get(stored.id)), groups: [] };
    const outbound = await engine.run('provider:user', defaultMappingIds('provider:user'), {
      user: view,
      provider: { id: 'p', name: 'App' },
      connection: null,
    });
    expect(outbound.result).toEqual(entra);
  });

  it('give a user without an externalId the directory id as externalId, and one primary email with a type', async () => {
    const outcome = await run(defaultMappingIds('provider:user'), {
      ...sampleUser(7),
      emails: [{ value: 'a@example.com' }, { value: 'b@example.com' }],
    });
    expect(outcome.result.externalId).toBe(sampleUser(7).id);
    expect(outcome.result.emails).toEqual([
      { value: 'a@example.com', type: 'work', primary: true },
      { value: 'b@example.com', type: 'work', primary: false },
    ]);
  });
});

describe('abuse: denied with a clear error, and the service keeps serving', () => {
  const abuse: [string, string, RegExp][] = [
    ['reaching process', 'return { env: process.env.SECRET_KEY };', /process is not defined/],
    [
      'require',
      "const fs = require('fs'); return { x: fs.readFileSync('/etc/passwd', 'utf8') };",
      /require is not defined/,
    ],
    [
      'the Function constructor',
      "return { p: globalThis.constructor.constructor('return process')().env };",
      /process is not defined|code generation|not allowed/i,
    ],
    ['import()', "return import('node:fs');", /Promise|import/],
    ['an infinite loop', 'while (true) {}', /CPU limit|timed out/i],
    [
      'a 1 GB allocation',
      "const big = 'x'.repeat(1024 * 1024 * 1024); return { n: big.length };",
      /memory|Invalid string length|allocation/i,
    ],
    [
      'a 1 GB array',
      'const a = []; for (;;) a.push(new Array(1e6).fill(1.5));',
      /memory|CPU limit|allocation/i,
    ],
    ['deep recursion', 'function f(n) { return f(n + 1) + 1; } return { n: f(0) };', /call stack/i],
    ['a __proto__ key', 'return JSON.parse(\'{"__proto__": {"polluted": true}}\');', /__proto__/],
    ['a constructor key', 'return { constructor: { prototype: { polluted: true } } };', /constructor/],
    ['a non-object result', "return 'just a string';", /must return an object/],
    ['an array result', 'return [1, 2, 3];', /must return an object/],
    ['a function in the result', 'return { f: () => 1 };', /function/],
  ];

  it.each(abuse)('%s', async (_label, expression, message) => {
    const id = await mapping(expression);
    const error = await failure(run([id]));
    expect(error.code).toBe('mapping_failed');
    expect(error.details).toMatchObject({ mappingId: id });
    expect(String(error.details.message)).toMatch(message);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();

    // The next object maps fine.
    const outcome = await run(defaultMappingIds('provider:user'), sampleUser(99));
    expect(outcome.result.userName).toBe('user99@example.com');
  });

  it('cannot leave state for the next evaluation', async () => {
    const writer = await mapping(
      'try { globalThis.leak = 1; } catch (e) {} try { Object.prototype.leak = 1; } catch (e) {} return { title: String(typeof globalThis.leak) };',
    );
    const reader = await mapping(
      "return { displayName: String(typeof globalThis.leak) + '/' + String(({}).leak) };",
    );
    await run([writer]).catch(() => undefined);
    const outcome = await run([...defaultMappingIds('provider:user'), reader]);
    expect(outcome.result.displayName).toBe('undefined/undefined');
  });

  it('keeps the admin API answering while abusive mappings are tested', async () => {
    const loop = await mapping('while (true) {}', 'provider:user', 'Loop for the API');
    const [tested, health] = await Promise.all([
      t.http
        .post(`/api/v1/property-mappings/${loop}/test`)
        .set('Authorization', t.auth)
        .send({ sample: { userName: 'x' } }),
      t.http.get('/healthz'),
    ]);
    expect(tested.status).toBe(400);
    expect(tested.body).toMatchObject({
      code: 'mapping_failed',
      failureKind: 'timeout',
      mappingName: 'Loop for the API',
    });
    expect(health.status).toBe(200);
  });
});
