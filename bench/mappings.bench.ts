import 'reflect-metadata';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { mergeContributions } from '../src/lib/merge/deep-merge.js';
import {
  DEFAULT_MAPPINGS,
  defaultMappingIds,
} from '../src/modules/property-mapping/defaults/default-mappings.js';
import { DefaultMappingsSeeder } from '../src/modules/property-mapping/defaults/defaults-seeder.js';
import { MappingCatalog } from '../src/modules/property-mapping/engine/mapping-catalog.js';
import { MappingEngine } from '../src/modules/property-mapping/engine/mapping-engine.js';
import {
  MAX_OBJECTS_PER_CALL,
  ObjectBatcher,
} from '../src/modules/property-mapping/engine/object-batcher.js';
import { MappingSandbox } from '../src/modules/property-mapping/engine/mapping-sandbox.js';
import { validateResult } from '../src/modules/property-mapping/engine/result-validation.js';
import { MappingReferenceChecker } from '../src/modules/property-mapping/mappings/mapping-references.js';
import { PropertyMappingsService } from '../src/modules/property-mapping/mappings/property-mappings.service.js';
import { benchDatabase, fmt, machine, runConcurrently } from './support.js';

/**
 * bench:mappings — maps 10,000 different directory users to SCIM payloads with the managed
 * default `provider:user` mapping plus one custom mapping (evaluate in the sandbox → deep-merge →
 * validate), on ONE isolate (one sandbox thread), and compares with the same function bodies run
 * natively in this process. Also times the inbound direction (`source:user`).
 */
const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 128);
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

const CUSTOM_PROVIDER_USER = String.raw`const primary = primaryOf(user.emails);
const enterprise = user['${ENTERPRISE}'] || {};
return {
  displayName: join([user.name && user.name.givenName, user.name && user.name.familyName]) || user.displayName,
  nickName: emailLocalPart(primary && primary.value),
  title: upper(user.title),
  '${ENTERPRISE}': { department: lower(enterprise.department) },
};`;

const CUSTOM_SOURCE_USER = String.raw`if (userName.startsWith('svc-')) skipObject('service accounts stay out');
return { userName: lower(userName), displayName: join([name.givenName, name.familyName]) };`;

const db = await benchDatabase(4);
const logger = pino({ level: 'silent' });
const catalog = new MappingCatalog(db.dataSource);
// One isolate: every evaluation runs on one sandbox thread.
const sandbox = new MappingSandbox().withOptions({ poolSize: 1 });
const engine = new MappingEngine(catalog, sandbox);
const service = new PropertyMappingsService(db.dataSource, new MappingReferenceChecker(), catalog, sandbox);
await new DefaultMappingsSeeder(db.dataSource, catalog, logger).seed();
const customOut = await service.create({
  name: 'Bench: custom provider user',
  scope: 'provider:user',
  expression: CUSTOM_PROVIDER_USER,
});
const customIn = await service.create({
  name: 'Bench: custom source user',
  scope: 'source:user',
  expression: CUSTOM_SOURCE_USER,
});
const providerIds = [...defaultMappingIds('provider:user'), customOut.id];
const sourceIds = [...defaultMappingIds('source:user'), customIn.id];

const user = (i: number) => ({
  id: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
  userName: `user.${i}@example.com`,
  externalId: i % 3 === 0 ? null : `ext-${i}`,
  displayName: `User ${i}`,
  active: i % 17 !== 0,
  kind: 'person',
  title: `Engineer ${i % 7}`,
  name: { givenName: `Given${i}`, familyName: `Family${i}` },
  emails: [
    { value: `user.${i}@example.com`, type: 'work', primary: true },
    { value: `u${i}@home.example`, type: 'home' },
  ],
  phoneNumbers: [{ value: `+1 555 ${String(i).padStart(7, '0')}`, type: 'mobile' }],
  [ENTERPRISE]: {
    employeeNumber: String(i),
    department: `Department ${i % 40}`,
    manager: { value: `mgr-${i % 100}` },
  },
  groups: [
    { id: `g-${i % 10}`, displayName: `Group ${i % 10}` },
    { id: `g-${10 + (i % 5)}`, displayName: `Team ${i % 5}` },
  ],
});
const users = Array.from({ length: USERS }, (_, i) => user(i));
const providerContext = (i: number) => ({
  user: users[i],
  provider: { id: 'bench', name: 'Bench app' },
  connection: null,
});
const scimUser = (i: number) => {
  const { id: _id, kind: _kind, groups: _groups, ...rest } = users[i]!;
  return { schemas: [CORE_USER, ENTERPRISE], ...rest };
};
const sourceContext = (i: number) => ({
  scim: scimUser(i),
  source: { id: 'bench', slug: 'bench', name: 'Bench IdP' },
  user: null,
});

interface Measured {
  perSecond: number;
  cpuPerSecond: number;
  seconds: number;
}

/** Wall-clock rate, and the rate per CPU-second of this process (all threads: event loop + isolate). */
/** Runs of each measurement; the median is reported (other processes on the machine add noise). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** The median of {@link ROUNDS} passes over the users (by wall-clock rate). */
async function measure(
  total: number,
  concurrency: number,
  task: (i: number) => Promise<unknown>,
): Promise<Measured> {
  const rounds: Measured[] = [];
  for (let round = 0; round < ROUNDS; round++) rounds.push(await measureOnce(total, concurrency, task));
  rounds.sort((a, b) => a.perSecond - b.perSecond);
  return rounds[Math.floor(rounds.length / 2)]!;
}

async function measureOnce(
  total: number,
  concurrency: number,
  task: (i: number) => Promise<unknown>,
): Promise<Measured> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await runConcurrently(total, concurrency, async (i) => {
    await task(i);
  });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  return { perSecond: total / seconds, cpuPerSecond: total / cpuSeconds, seconds };
}

// ---------------------------------------------------------------------------------------------
// Native baseline — BENCHMARK ONLY. The same function bodies compiled in this process with
// `new Function`, which the service never does (mappings only ever run in the isolate).
// ---------------------------------------------------------------------------------------------
const nativeHelpers = {
  lower: (t: unknown) => (t == null ? undefined : String(t).toLowerCase()),
  upper: (t: unknown) => (t == null ? undefined : String(t).toUpperCase()),
  join: (list: unknown[], sep = ' ') => {
    const joined = list.filter((x) => x != null && String(x).trim() !== '').join(sep);
    return joined === '' ? undefined : joined;
  },
  emailLocalPart: (e: unknown) => {
    if (e == null) return undefined;
    const at = String(e).lastIndexOf('@');
    return at > 0 ? String(e).slice(0, at) : undefined;
  },
  primaryOf: (list: unknown) =>
    Array.isArray(list) && list.length > 0
      ? (list.find((x: { primary?: boolean }) => x?.primary === true) ?? list[0])
      : undefined,
};
const helperNames = Object.keys(nativeHelpers);
const nativeBodies = [
  DEFAULT_MAPPINGS.find((m) => m.managedKey === 'default:provider:user')!.expression,
  CUSTOM_PROVIDER_USER,
];
type NativeMapping = (...args: unknown[]) => unknown;
const nativeFunctions = nativeBodies.map((body): NativeMapping => {
  const parameters = [...helperNames, 'user', 'provider', 'connection'];
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- benchmark-only native baseline, never in src/
  return new Function(...parameters, `'use strict';\n${body}`) as NativeMapping;
});
const helperValues = Object.values(nativeHelpers);
const runNative = (i: number) => {
  const context = providerContext(i);
  return nativeFunctions.map(
    (fn) =>
      fn(...helperValues, context.user, context.provider, context.connection) as Record<
        string,
        unknown
      > | null,
  );
};

console.log(
  `bench:mappings — ${fmt(USERS)} different users (median of ${ROUNDS} passes), ${machine()}, 1 isolate, ${CONCURRENCY} objects in flight`,
);
console.log(
  `  provider:user list: managed default + 1 custom mapping; source:user list: managed default + 1 custom mapping`,
);

// Warm up: compile in the isolate, JIT both sides.
await measureOnce(USERS, CONCURRENCY, (i) => engine.run('provider:user', providerIds, providerContext(i)));
await measureOnce(USERS, CONCURRENCY, (i) => engine.run('source:user', sourceIds, sourceContext(i)));
for (let i = 0; i < USERS; i++)
  validateResult('provider:user', mergeContributions(runNative(i).filter((c) => c !== null)), []);

const outbound = await measure(USERS, CONCURRENCY, (i) =>
  engine.run('provider:user', providerIds, providerContext(i)),
);
const outboundSerial = await measure(USERS, 1, (i) =>
  engine.run('provider:user', providerIds, providerContext(i)),
);
const inbound = await measure(USERS, CONCURRENCY, (i) =>
  engine.run('source:user', sourceIds, sourceContext(i)),
);

// Evaluation only (no merge, no validation): the sandbox vs the same bodies natively.
const loaded = await catalog.get(providerIds);
const mappingRows = providerIds.map((id) => loaded.get(id)!);
const sources = mappingRows.map((m) => ({ id: m.id, version: m.version, expression: m.expression }));
const sandboxEval = await measure(USERS, CONCURRENCY, (i) =>
  sandbox.evaluateAll(sources, providerContext(i)),
);
const batcher = new ObjectBatcher(sandbox);
let evaluatedAlone = 0;
const batchedEval = await measure(USERS, CONCURRENCY, async (i) => {
  // As the engine does: a request that found no company (or a failed batch) is evaluated alone.
  if (!(await batcher.evaluate(mappingRows, providerContext(i)))) {
    evaluatedAlone++;
    await sandbox.evaluateAll(sources, providerContext(i));
  }
});
const nativeEval = await measure(USERS, 1, async (i) => runNative(i));
// The whole pipeline natively: evaluate + merge + validate, as the engine does.
const nativeFull = await measure(USERS, 1, async (i) => {
  const contributions = runNative(i);
  return validateResult(
    'provider:user',
    mergeContributions(contributions.filter((c): c is Record<string, unknown> => c !== null)),
    contributions.map((contribution, k) => ({ name: String(k), contribution })),
  );
});

const row = (label: string, m: Measured) =>
  console.log(
    `  ${label.padEnd(58)} ${fmt(m.perSecond).padStart(9)} /s wall   ${fmt(m.cpuPerSecond).padStart(9)} /s per CPU-second`,
  );
console.log('');
console.log('  user payloads through the engine (evaluate → deep-merge → validate):');
row(`provider:user, ${CONCURRENCY} in flight`, outbound);
row('provider:user, one at a time', outboundSerial);
row(`source:user, ${CONCURRENCY} in flight`, inbound);
console.log('');
console.log('  evaluation only (2 mappings per user, no merge or validation):');
row('sandbox, one call per user (both mappings)', sandboxEval);
row(`sandbox, batched as the engine does (≤ ${MAX_OBJECTS_PER_CALL} users per call)`, batchedEval);
console.log(
  `    (${fmt(evaluatedAlone)} of ${fmt(USERS * ROUNDS)} evaluations went alone: the tail of a pass)`,
);
row('native (same bodies, new Function, benchmark only)', nativeEval);
row('native evaluate + merge + validate', nativeFull);
console.log('');
console.log(
  `  sandbox overhead, evaluation only:     ${fmt(nativeEval.perSecond / batchedEval.perSecond, 1)}x native time batched, ${fmt(nativeEval.perSecond / sandboxEval.perSecond, 1)}x one call per user (wall)`,
);
console.log(
  `  sandbox overhead, whole pipeline:      ${fmt(nativeFull.perSecond / outbound.perSecond, 1)}x native time (wall), ${fmt(nativeFull.cpuPerSecond / outbound.cpuPerSecond, 1)}x per CPU-second`,
);
const target = 20_000;
const verdict = (n: number) => (n >= target ? 'met' : 'not met');
console.log(
  `  target ≥ ${fmt(target)} user payloads/s: ${fmt(outbound.perSecond)}/s with one isolate (${verdict(outbound.perSecond)}), ` +
    `${fmt(outbound.cpuPerSecond)} per CPU-second of the whole process (${verdict(outbound.cpuPerSecond)})`,
);
const [load] = loadavg();
console.log(
  `  (load average during the run: ${fmt(load ?? 0, 1)} on ${availableParallelism()} cores — figures scale down on a busy machine)`,
);

sandbox.onApplicationShutdown();
await db.close();
