import 'reflect-metadata';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { fmt, machine, percentile, runConcurrently } from './support.js';
import {
  benchServer,
  cpuSnapshot,
  cpuUsed,
  eventLoopLag,
  expectStatus,
  freePort,
  histogramMeans,
  histogramTotals,
  peakRssMb,
  requestCount,
  seedDirectory,
  startBridge,
  waitForRun,
  type Bridge,
} from './sync-support.js';

/**
 * bench:sync — outbound SCIM at scale, everything over real HTTP on this machine:
 *
 * - the downstream app is a second bridge (ROLE=api, its own database) serving SCIM through a source;
 * - our bridge runs as an API process (admin API + inbound SCIM) and a worker process (ROLE=worker);
 * - its directory is seeded with 10,000 users and 200 groups × 50 members.
 *
 * Prints: the app's raw POST capacity (same payloads, same concurrency, measured first) and its
 * capacity for the same creates in Bulk requests; the full sync's objects/s and its ratio to both; the no-change re-sync time and its write count;
 * delta latency from an inbound SCIM write to the downstream request (p50/p99 at 50 changes/s,
 * timed by a pass-through proxy in front of the app); the worker's peak RSS.
 */
const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const GROUPS = Number(process.env.BENCH_GROUPS ?? 200);
const PER_GROUP = Number(process.env.BENCH_PER_GROUP ?? 50);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const RAW_POSTS = Number(process.env.BENCH_RAW_POSTS ?? 3000);
const DELTA_RATE = Number(process.env.BENCH_DELTA_RATE ?? 50);
const DELTA_SECONDS = Number(process.env.BENCH_DELTA_SECONDS ?? 20);
const DELTA_USERS = 500;
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const server = await benchServer();
const bridges: Bridge[] = [];
let proxy: ReturnType<typeof createServer> | undefined;

try {
  console.log(
    `bench:sync — ${machine()}; ${fmt(USERS)} users, ${fmt(GROUPS)} groups × ${PER_GROUP} members, concurrency ${CONCURRENCY}`,
  );
  const up = await server.database('up');
  const down = await server.database('down');
  await seedDirectory(up.dataSource, USERS, GROUPS, PER_GROUP);

  const app = await startBridge(down.url, 'api', CONCURRENCY);
  bridges.push(app);
  const api = await startBridge(up.url, 'api');
  bridges.push(api);
  const worker = await startBridge(up.url, 'worker');
  bridges.push(worker);

  const appSource = await app.call('POST', '/api/v1/sources', { name: 'Downstream app', slug: 'app' });
  expectStatus(appSource, 201, 'create the app’s source');
  const appToken = appSource.json.token as string;
  const appScim = `${app.base}/scim/app/v2`;

  // 1. Raw POST capacity of the app: the payload our default mapping sends, same concurrency.
  const payload = (i: number, prefix: string) => ({
    schemas: [CORE, ENTERPRISE],
    externalId: `${prefix}-${i}`,
    userName: `${prefix}${i}@example.com`,
    active: true,
    displayName: `User ${i}`,
    name: { givenName: 'User', familyName: String(i) },
    title: 'Engineer',
    emails: [{ value: `${prefix}${i}@example.com`, type: 'work', primary: true }],
    [ENTERPRISE]: { employeeNumber: String(i), department: `D${i % 50}` },
  });
  const post = async (i: number, prefix: string) => {
    const res = await app.call('POST', '/scim/app/v2/Users', payload(i, prefix), appToken);
    expectStatus(res, 201, 'raw POST');
  };
  const pids = { app: app.child.pid!, api: api.child.pid!, worker: worker.child.pid!, bench: process.pid };
  const cpuLine = (used: Record<string, number>, objects: number) =>
    Object.entries(used)
      .filter(([, s]) => s > 0.05)
      .map(([k, s]) => `${k} ${fmt((s * 1000) / objects, 2)}`)
      .join(', ');
  await runConcurrently(300, CONCURRENCY, (i) => post(i, 'warm'));
  // How many of the app's user creates share one statement (it batches concurrent creates).
  const BATCHING = 'identity_bridge_directory_user_creates_per_statement';
  const batching = async (since: { sum: number; count: number }) => {
    const now = await histogramTotals(app, BATCHING);
    const statements = now.count - since.count;
    return `${fmt(statements)} create statements, ${fmt((now.sum - since.sum) / Math.max(1, statements), 1)} users each`;
  };
  const rawBatching = await histogramTotals(app, BATCHING);
  const rawCpu = await cpuSnapshot(up.dataSource, pids);
  const rawStart = performance.now();
  await runConcurrently(RAW_POSTS, CONCURRENCY, (i) => post(i, 'raw'));
  const rawRate = RAW_POSTS / ((performance.now() - rawStart) / 1000);
  console.log(
    `raw POST capacity of the app: ${fmt(rawRate)} creates/s (${fmt(RAW_POSTS)} POST /Users at concurrency ${CONCURRENCY})`,
  );
  console.log(
    `  CPU ms per create: ${cpuLine(cpuUsed(rawCpu, await cpuSnapshot(up.dataSource, pids)), RAW_POSTS)}; the app wrote ${await batching(rawBatching)}`,
  );
  // The same creates in Bulk requests (what the full sync sends to an app that takes Bulk): the
  // app's capacity by the cheaper route, so the sync's ratio to it is printed too.
  const BULK_OPS = 25;
  const bulkStart = performance.now();
  await runConcurrently(Math.ceil(RAW_POSTS / BULK_OPS), CONCURRENCY, async (b) => {
    const Operations = Array.from({ length: BULK_OPS }, (_, k) => ({
      method: 'POST',
      path: '/Users',
      bulkId: `b${k}`,
      data: payload(b * BULK_OPS + k, 'rawbulk'),
    }));
    const res = await app.call(
      'POST',
      '/scim/app/v2/Bulk',
      { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations },
      appToken,
    );
    expectStatus(res, 200, 'raw Bulk');
    const failed = (res.json.Operations as { status: string }[]).filter((o) => o.status !== '201');
    if (failed.length > 0) throw new Error(`raw Bulk: ${failed.length} operations failed`);
  });
  const rawBulkRate = (Math.ceil(RAW_POSTS / BULK_OPS) * BULK_OPS) / ((performance.now() - bulkStart) / 1000);
  console.log(
    `raw Bulk capacity of the app: ${fmt(rawBulkRate)} creates/s (the same creates, ${BULK_OPS} per POST /Bulk at concurrency ${CONCURRENCY})`,
  );

  // 2. Full sync.
  const created = await api.call('POST', '/api/v1/providers', {
    name: 'Downstream app',
    url: appScim,
    auth: { type: 'bearer', token: appToken },
    maxConcurrency: Number(process.env.BENCH_PUSH_CONCURRENCY ?? CONCURRENCY),
  });
  expectStatus(created, 201, 'create provider');
  const providerId = created.json.id as string;
  const fullCpu = await cpuSnapshot(up.dataSource, pids);
  const fullBatching = await histogramTotals(app, BATCHING);
  await eventLoopLag(worker); // a scrape resets the lag histogram
  // BENCH_SAMPLE_PG=sync|proxy|delta: sample what PostgreSQL is busy with (and waits for) during
  // that phase: the full sync, deltas answered by the proxy, or deltas through to the app.
  const sampleFor = (phase: string) => {
    const samples = new Map<string, number>();
    if (process.env.BENCH_SAMPLE_PG !== phase) return () => undefined;
    const timer = setInterval(() => {
      void up.dataSource
        .query(
          `SELECT datname, coalesce(wait_event_type || ':' || wait_event || ' ', '') || left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS q FROM pg_stat_activity WHERE state = 'active' AND datname LIKE 'ib_bench_%' AND pid <> pg_backend_pid()`,
        )
        .then((rows: { datname: string; q: string }[]) => {
          for (const r of rows)
            samples.set(
              `${r.datname.slice(9, 13)} ${r.q}`,
              (samples.get(`${r.datname.slice(9, 13)} ${r.q}`) ?? 0) + 1,
            );
        })
        .catch(() => undefined);
    }, 50);
    return () => {
      clearInterval(timer);
      for (const [q, n] of [...samples].sort((a, b) => b[1] - a[1]).slice(0, 12))
        console.log(`  pg busy ×${n}: ${q}`);
    };
  };
  const stopSampling = sampleFor('sync');
  const fullStart = performance.now();
  const started = await api.call('POST', `/api/v1/providers/${providerId}/sync`);
  expectStatus(started, 202, 'start sync');
  let lastPrint = 0;
  const phaseAt = new Map<string, number>();
  const run = await waitForRun(api, providerId, started.json.runId as string, 30 * 60_000, (r) => {
    if (!phaseAt.has(r.phase)) phaseAt.set(r.phase, performance.now());
    if (performance.now() - lastPrint > 10_000 && r.total) {
      lastPrint = performance.now();
      console.log(`  … ${r.phase}: ${fmt(r.done)} / ${fmt(r.total)}`);
    }
  });
  const fullSeconds = (performance.now() - fullStart) / 1000;
  stopSampling();
  console.log(
    `  phases: ${[...phaseAt].map(([p, at]) => `${p} at ${fmt((at - fullStart) / 1000, 1)} s`).join(', ')}`,
  );
  const usersStart = phaseAt.get('users') ?? fullStart;
  const usersEnd =
    phaseAt.get('groups') ?? phaseAt.get('cleanup') ?? phaseAt.get('done') ?? performance.now();
  const groupsEnd = phaseAt.get('cleanup') ?? phaseAt.get('done') ?? performance.now();
  console.log(
    `  users phase: ${fmt(USERS / ((usersEnd - usersStart) / 1000))} users/s; groups phase ${fmt((groupsEnd - usersEnd) / 1000, 1)} s`,
  );
  const objects = USERS + GROUPS;
  const fullRate = objects / fullSeconds;
  console.log(
    `  CPU ms per object: ${cpuLine(cpuUsed(fullCpu, await cpuSnapshot(up.dataSource, pids)), objects)}; the app wrote ${await batching(fullBatching)}`,
  );
  console.log(`  worker event loop delay during the sync: ${await eventLoopLag(worker)}`);
  if (run.status !== 'succeeded')
    console.log(
      `  run ended ${run.status}: ${JSON.stringify(run.counts)} ${JSON.stringify(run.errors.slice(0, 3))}`,
    );
  console.log(
    `full sync: ${fmt(objects)} objects in ${fmt(fullSeconds, 1)} s = ${fmt(fullRate)} objects/s; ratio to raw POST capacity ${fmt(fullRate / rawRate, 2)} (target ≥ 0.8), to raw Bulk capacity ${fmt(fullRate / rawBulkRate, 2)}; counts ${JSON.stringify(run.counts)}`,
  );

  // 3. No-change re-sync.
  const writesBefore = await requestCount(app, '/scim/', ['POST', 'PUT', 'PATCH', 'DELETE']);
  const resyncStart = performance.now();
  const again = await api.call('POST', `/api/v1/providers/${providerId}/sync`);
  expectStatus(again, 202, 'start re-sync');
  const rerun = await waitForRun(api, providerId, again.json.runId as string, 10 * 60_000);
  const resyncSeconds = (performance.now() - resyncStart) / 1000;
  const writes = (await requestCount(app, '/scim/', ['POST', 'PUT', 'PATCH', 'DELETE'])) - writesBefore;
  console.log(
    `no-change re-sync: ${fmt(resyncSeconds, 2)} s (target < 10 s), ${writes} write requests (target 0), status ${rerun.status}, unchanged ${fmt(rerun.counts.unchanged)}`,
  );

  // 4. Delta latency: inbound SCIM write → the downstream request, through a timing proxy. Measured
  // twice: with the proxy answering PATCHes itself (our pipeline alone: inbound SCIM, outbox,
  // dispatch, push), then forwarding them to the app (end to end, the app sharing the machine).
  const arrivals = new Map<number, number>();
  let sink = true;
  const upstream = new Pool(app.base, { connections: CONCURRENCY, pipelining: 1 });
  proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const marker = /lat-(\d+)/.exec(body.toString('utf8'));
      if (marker && req.method === 'PATCH') {
        arrivals.set(Number(marker[1]), performance.now());
        if (sink) {
          res.writeHead(200, { 'content-type': 'application/scim+json' }).end(body);
          return;
        }
      }
      const answer = await upstream.request({
        method: req.method as 'PATCH',
        path: req.url ?? '/',
        headers: {
          authorization: req.headers.authorization ?? '',
          'content-type': req.headers['content-type'] ?? 'application/scim+json',
        },
        body: body.length ? body : undefined,
      });
      const text = await answer.body.arrayBuffer();
      res
        .writeHead(answer.statusCode, {
          'content-type': String(answer.headers['content-type'] ?? 'application/scim+json'),
        })
        .end(Buffer.from(text));
    })().catch(() => res.destroy());
  });
  const proxyPort = await freePort();
  await new Promise<void>((resolve) => proxy!.listen(proxyPort, '127.0.0.1', resolve));
  expectStatus(
    await api.call('PATCH', `/api/v1/providers/${providerId}`, {
      url: `http://127.0.0.1:${proxyPort}/scim/app/v2`,
    }),
    200,
    'point the provider at the proxy',
  );

  const idp = await api.call('POST', '/api/v1/sources', { name: 'Bench IdP', slug: 'idp' });
  expectStatus(idp, 201, 'create the IdP source');
  const idpToken = idp.json.token as string;
  const ids: string[] = [];
  await runConcurrently(DELTA_USERS, 8, async (i) => {
    const res = await api.call('POST', '/scim/idp/v2/Users', payload(i, 'delta'), idpToken);
    expectStatus(res, 201, 'inbound create');
    ids[i] = res.json.id as string;
  });
  await new Promise((resolve) => setTimeout(resolve, 5000)); // let the creates reach the app
  const total = DELTA_RATE * DELTA_SECONDS;
  let seq = 0;
  const measure = async (label: string) => {
    const sentAt = new Map<number, number>();
    const answeredAt = new Map<number, number>();
    const inflight: Promise<void>[] = [];
    const deltaStart = performance.now();
    for (let k = 0; k < total; k++) {
      const i = seq++;
      const due = deltaStart + (k * 1000) / DELTA_RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      sentAt.set(i, performance.now());
      inflight.push(
        api
          .call(
            'PATCH',
            `/scim/idp/v2/Users/${ids[i % DELTA_USERS]}`,
            {
              schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
              Operations: [{ op: 'replace', path: 'displayName', value: `lat-${i}` }],
            },
            idpToken,
          )
          .then((res) => {
            answeredAt.set(i, performance.now());
            expectStatus(res, 200, 'inbound PATCH');
          }),
      );
    }
    await Promise.all(inflight);
    const deadline = performance.now() + 60_000;
    while ([...sentAt.keys()].some((i) => !arrivals.has(i)) && performance.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const latencies = [...sentAt]
      .filter(([i]) => arrivals.has(i))
      .map(([i, at]) => arrivals.get(i)! - at)
      .sort((a, b) => a - b);
    console.log(
      `delta latency ${label}, inbound SCIM PATCH → downstream PATCH at ${DELTA_RATE} changes/s for ${DELTA_SECONDS} s: p50 ${fmt(percentile(latencies, 50), 1)} ms, p99 ${fmt(percentile(latencies, 99), 1)} ms (targets ≤ 100 ms, ≤ 1 s); ${fmt(latencies.length)} of ${fmt(total)} arrived`,
    );
    // Where the slowest changes fell in the measurement (seconds after its start).
    const slowest = [...sentAt]
      .filter(([i]) => arrivals.has(i))
      .map(([i, at]) => ({
        at: (at - deltaStart) / 1000,
        ms: arrivals.get(i)! - at,
        inbound: (answeredAt.get(i) ?? Number.NaN) - at,
      }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 10);
    console.log(
      `  slowest (latency, when sent, inbound PATCH's own response time): ${slowest
        .map((x) => `${fmt(x.ms, 0)} ms at ${fmt(x.at, 1)} s (${fmt(x.inbound, 0)} ms)`)
        .join(', ')}`,
    );
  };
  const stopProxySampling = sampleFor('proxy');
  await measure('(downstream answered by the timing proxy)');
  stopProxySampling();
  sink = false;
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const stopDeltaSampling = sampleFor('delta');
  await measure('(through to the app)');
  stopDeltaSampling();

  const jobs = await histogramMeans(worker, 'identity_bridge_job_duration_seconds', ['job']);
  console.log(
    `  worker jobs (count, mean ms): ${Object.entries(jobs)
      .map(([k, [n, ms]]) => `${k.replace('scim-provider.', '')} ${fmt(n)} × ${fmt(ms, 1)}`)
      .join(', ')}`,
  );
  const served = await histogramMeans(app, 'identity_bridge_http_request_duration_seconds', [
    'method',
    'route',
  ]);
  console.log(
    `  the app's own request time (count, mean ms): ${Object.entries(served)
      .map(([k, [n, ms]]) => `${k} ${fmt(n)} × ${fmt(ms, 1)}`)
      .join(', ')}`,
  );

  // 5. Worker memory.
  console.log(`worker peak RSS: ${fmt(peakRssMb(worker.child.pid!), 0)} MB (target < 300 MB)`);
  await upstream.close();
} finally {
  proxy?.close();
  for (const bridge of bridges.reverse()) await bridge.stop().catch(() => undefined);
  await server.close();
}
