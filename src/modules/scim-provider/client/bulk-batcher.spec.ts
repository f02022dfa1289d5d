import { describe, expect, it } from 'vitest';
import {
  BulkBatcher,
  isBulkable,
  type BulkableRequest,
  type BulkLimits,
  type BulkTransport,
} from './bulk-batcher.js';
import type { HttpOutcome } from './scim-client.errors.js';

const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
const SCIM_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const BASE = 'https://app.example/scim/v2';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface SentOperation {
  method: string;
  path: string;
  bulkId?: string;
  data?: unknown;
}

interface SentBulk {
  body: { schemas: string[]; Operations: SentOperation[] };
  operations: number;
  answer: Deferred<HttpOutcome>;
}

/** A transport whose every request waits until the test answers it. */
class FakeTransport implements BulkTransport {
  readonly singles: { req: BulkableRequest; answer: Deferred<HttpOutcome> }[] = [];
  readonly bulks: SentBulk[] = [];
  readonly unsupportedReasons: string[] = [];

  single(req: BulkableRequest): Promise<HttpOutcome> {
    const answer = deferred<HttpOutcome>();
    this.singles.push({ req, answer });
    return answer.promise;
  }

  bulk(body: unknown, operations: number): Promise<HttpOutcome> {
    const answer = deferred<HttpOutcome>();
    this.bulks.push({ body: body as SentBulk['body'], operations, answer });
    return answer.promise;
  }

  unsupported(reason: string): void {
    this.unsupportedReasons.push(reason);
  }
}

/** Lets every pending microtask (answers, `finally`, the next pump) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** Records how a promise ended, without awaiting it. */
function track(promise: Promise<HttpOutcome>): { settled: boolean; outcome?: HttpOutcome; error?: unknown } {
  const state: { settled: boolean; outcome?: HttpOutcome; error?: unknown } = { settled: false };
  void promise.then(
    (outcome) => {
      state.settled = true;
      state.outcome = outcome;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

const response = (status: number, body?: unknown, headers: Record<string, string> = {}): HttpOutcome => ({
  status,
  headers,
  body,
});

const bulkResponse = (operations: unknown[]): HttpOutcome =>
  response(200, { schemas: [BULK_RESPONSE], Operations: operations });

/** A Bulk response where every operation succeeded, in request order. */
const allApplied = (bulk: SentBulk): HttpOutcome =>
  bulkResponse(
    bulk.body.Operations.map((op) =>
      op.method === 'POST'
        ? { method: 'POST', bulkId: op.bulkId, location: `${BASE}/Users/new-${op.bulkId}`, status: '201' }
        : {
            method: op.method,
            location: `${BASE}${op.path}`,
            status: op.method === 'DELETE' ? '204' : '200',
          },
    ),
  );

/** Checks which writes Bulk request `index` carries, and answers it with every one applied. */
async function answerAll(transport: FakeTransport, index: number, paths: string[]): Promise<void> {
  expect(transport.bulks[index].body.Operations.map((o) => o.path)).toEqual(paths);
  transport.bulks[index].answer.resolve(allApplied(transport.bulks[index]));
  await settle();
}

const LIMITS: BulkLimits = { maxOperations: 100, maxPayloadSize: 1_000_000 };

const post = (userName: string): BulkableRequest => ({ method: 'POST', path: '/Users', body: { userName } });
const patch = (path: string, value = 'x'): BulkableRequest => ({
  method: 'PATCH',
  path,
  body: { Operations: [{ op: 'replace', path: 'displayName', value }] },
});
const del = (path: string): BulkableRequest => ({ method: 'DELETE', path });

/**
 * A batcher with one request slot, already taken by a plain write; `queued` wait behind it. Answering
 * the first write (`release`) sends them.
 */
async function withQueued(
  queued: BulkableRequest[],
  limits: BulkLimits = LIMITS,
): Promise<{
  batcher: BulkBatcher;
  transport: FakeTransport;
  writes: Promise<HttpOutcome>[];
  release(): Promise<void>;
}> {
  const transport = new FakeTransport();
  const batcher = new BulkBatcher(limits, 1, transport);
  const first = batcher.submit(patch('/Users/first'));
  const writes = queued.map((req) => batcher.submit(req));
  await settle();
  expect(transport.singles).toHaveLength(1);
  expect(transport.bulks).toHaveLength(0);
  return {
    batcher,
    transport,
    writes,
    release: async () => {
      transport.singles[0].answer.resolve(response(200, {}));
      await first;
      await settle();
    },
  };
}

describe('BulkBatcher', () => {
  describe('sending', () => {
    it('sends a write at once, alone, as a plain request while a slot is free', async () => {
      const transport = new FakeTransport();
      const batcher = new BulkBatcher(LIMITS, 2, transport);
      const a = post('alice');
      const b = patch('/Users/u1');
      const first = batcher.submit(a);
      const second = batcher.submit(b);
      // Synchronously: nothing waits to be batched.
      expect(transport.singles.map((s) => s.req)).toEqual([a, b]);
      expect(transport.singles[0].req).toBe(a);
      expect(transport.bulks).toHaveLength(0);

      const created = response(201, { id: 'u-alice' }, { location: `${BASE}/Users/u-alice` });
      transport.singles[0].answer.resolve(created);
      await expect(first).resolves.toBe(created);
      const patched = response(200, { id: 'u1' });
      transport.singles[1].answer.resolve(patched);
      await expect(second).resolves.toBe(patched);
      await settle();
      expect(transport.bulks).toHaveLength(0);
      expect(transport.singles).toHaveLength(2);
    });

    it('queues writes while every slot is taken and sends them all in one Bulk request on the next answer', async () => {
      const transport = new FakeTransport();
      const batcher = new BulkBatcher(LIMITS, 2, transport);
      const busy = [batcher.submit(patch('/Users/busy1')), batcher.submit(patch('/Users/busy2'))];
      const queued: BulkableRequest[] = [
        post('alice'),
        patch('/Users/u1', 'Bob'),
        { method: 'PUT', path: '/Groups/g1', body: { displayName: 'Admins' } },
        del('/Users/u2'),
        post('carol'),
      ];
      const writes = queued.map((req) => track(batcher.submit(req)));
      await settle();
      expect(transport.singles).toHaveLength(2);
      expect(transport.bulks).toHaveLength(0);

      transport.singles[0].answer.resolve(response(200, {}));
      await busy[0];
      await settle();

      expect(transport.singles).toHaveLength(2);
      expect(transport.bulks).toHaveLength(1);
      const [bulk] = transport.bulks;
      expect(bulk.operations).toBe(5);
      expect(bulk.body).toStrictEqual({
        schemas: [BULK_REQUEST],
        Operations: [
          { method: 'POST', path: '/Users', bulkId: expect.any(String), data: { userName: 'alice' } },
          {
            method: 'PATCH',
            path: '/Users/u1',
            data: { Operations: [{ op: 'replace', path: 'displayName', value: 'Bob' }] },
          },
          { method: 'PUT', path: '/Groups/g1', data: { displayName: 'Admins' } },
          { method: 'DELETE', path: '/Users/u2' },
          { method: 'POST', path: '/Users', bulkId: expect.any(String), data: { userName: 'carol' } },
        ],
      });
      const ops = bulk.body.Operations;
      for (const op of ops.filter((o) => o.method !== 'POST')) expect(op).not.toHaveProperty('bulkId');
      expect(ops[0].bulkId).not.toBe(ops[4].bulkId);
      expect(writes.some((w) => w.settled)).toBe(false);

      bulk.answer.resolve(allApplied(bulk));
      await settle();
      expect(writes.every((w) => w.settled && w.error === undefined)).toBe(true);
      transport.singles[1].answer.resolve(response(200, {}));
      await busy[1];
    });

    it('splits queued writes by maxOperations', async () => {
      const queued = [1, 2, 3, 4, 5].map((n) => del(`/Users/u${n}`));
      const { transport, writes, release } = await withQueued(queued, {
        maxOperations: 2,
        maxPayloadSize: 1_000_000,
      });
      await release();

      expect(transport.bulks).toHaveLength(1);
      expect(transport.bulks[0].operations).toBe(2);
      await answerAll(transport, 0, ['/Users/u1', '/Users/u2']);

      expect(transport.bulks).toHaveLength(2);
      await answerAll(transport, 1, ['/Users/u3', '/Users/u4']);

      // The last one is alone: a plain request.
      expect(transport.bulks).toHaveLength(2);
      expect(transport.singles).toHaveLength(2);
      expect(transport.singles[1].req).toBe(queued[4]);
      transport.singles[1].answer.resolve(response(204));
      const outcomes = await Promise.all(writes);
      expect(outcomes.map((o) => ('status' in o ? o.status : o))).toEqual([204, 204, 204, 204, 204]);
    });

    it('splits queued writes by maxPayloadSize, and still sends a write bigger than the limit on its own', async () => {
      // Each operation is about 360 bytes: two fit in 1000 bytes with the envelope, three do not.
      const queued = [1, 2, 3, 4].map((n) => patch(`/Users/u${n}`, 'x'.repeat(250)));
      queued.push(patch('/Users/huge', 'y'.repeat(2000)));
      const { transport, writes, release } = await withQueued(queued, {
        maxOperations: 100,
        maxPayloadSize: 1000,
      });
      await release();

      expect(transport.bulks).toHaveLength(1);
      expect(JSON.stringify(transport.bulks[0].body).length).toBeLessThanOrEqual(1000);
      await answerAll(transport, 0, ['/Users/u1', '/Users/u2']);

      expect(transport.bulks).toHaveLength(2);
      await answerAll(transport, 1, ['/Users/u3', '/Users/u4']);

      expect(transport.bulks).toHaveLength(2);
      expect(transport.singles.map((s) => s.req.path)).toEqual(['/Users/first', '/Users/huge']);
      transport.singles[1].answer.resolve(response(200, {}));
      await expect(Promise.all(writes)).resolves.toHaveLength(5);
    });

    it('counts the payload limit in UTF-8 bytes, not characters', async () => {
      // 250 × 'é' is 250 characters but 500 bytes: two such writes fit in 1000 characters, not bytes.
      const queued = [patch('/Users/u1', 'é'.repeat(250)), patch('/Users/u2', 'é'.repeat(250))];
      const { transport, writes, release } = await withQueued(queued, {
        maxOperations: 100,
        maxPayloadSize: 1000,
      });
      await release();
      expect(transport.bulks).toHaveLength(0);
      expect(transport.singles.map((s) => s.req.path)).toEqual(['/Users/first', '/Users/u1']);
      transport.singles[1].answer.resolve(response(200, {}));
      await settle();
      expect(transport.singles.map((s) => s.req.path)).toEqual(['/Users/first', '/Users/u1', '/Users/u2']);
      transport.singles[2].answer.resolve(response(200, {}));
      await expect(Promise.all(writes)).resolves.toHaveLength(2);
    });

    it('rejects every write of a batch whose transport throws', async () => {
      const { transport, writes, release } = await withQueued([del('/Users/a'), del('/Users/b')]);
      await release();
      const failure = new Error('no token');
      transport.bulks[0].answer.reject(failure);
      for (const write of writes) await expect(write).rejects.toBe(failure);
    });
  });

  describe('matching Bulk results to writes', () => {
    it('matches POST results by bulkId whatever their order and reads the new id from the location', async () => {
      const queued = [post('alice'), post('bob'), post('jörg')];
      const { transport, writes, release } = await withQueued(queued);
      await release();
      const [a, b, j] = transport.bulks[0].body.Operations.map((o) => o.bulkId);
      const created = { id: 'u-bob', userName: 'bob', meta: { version: 'W/"7"' } };
      transport.bulks[0].answer.resolve(
        bulkResponse([
          {
            method: 'POST',
            bulkId: j,
            location: `${BASE}/Users/j%C3%B6rg%2F1`,
            version: 'W/"3"',
            status: '201',
          },
          { method: 'POST', bulkId: b, location: `${BASE}/Users/u-bob`, status: '201', response: created },
          { method: 'POST', bulkId: a, location: `${BASE}/Users/u-alice`, version: 'W/"1"', status: '201' },
        ]),
      );
      const [alice, bob, jorg] = await Promise.all(writes);
      expect(alice).toEqual({
        status: 201,
        headers: { location: `${BASE}/Users/u-alice`, etag: 'W/"1"' },
        body: { id: 'u-alice' },
      });
      expect(bob).toEqual({ status: 201, headers: { location: `${BASE}/Users/u-bob` }, body: created });
      expect(jorg).toEqual({
        status: 201,
        headers: { location: `${BASE}/Users/j%C3%B6rg%2F1`, etag: 'W/"3"' },
        body: { id: 'jörg/1' },
      });
    });

    it('matches PATCH, PUT and DELETE results by the resource their location names', async () => {
      const queued: BulkableRequest[] = [
        patch('/Users/a'),
        del('/Users/b'),
        { method: 'PUT', path: '/Groups/g', body: { displayName: 'G' } },
        patch('/Groups/g'),
      ];
      const { transport, writes, release } = await withQueued(queued);
      await release();
      const userA = { id: 'a', displayName: 'x' };
      const groupPut = { id: 'g', displayName: 'G' };
      const groupPatch = { id: 'g', displayName: 'G2' };
      transport.bulks[0].answer.resolve(
        bulkResponse([
          {
            method: 'PATCH',
            location: `${BASE}/Groups/g`,
            version: 'W/"9"',
            status: '200',
            response: groupPatch,
          },
          { method: 'DELETE', location: `${BASE}/Users/b`, status: '204' },
          { method: 'PUT', location: `${BASE}/Groups/g/`, status: '200', response: groupPut },
          { method: 'PATCH', location: `${BASE}/Users/a`, version: 'W/"2"', status: '200', response: userA },
        ]),
      );
      const outcomes = await Promise.all(writes);
      expect(outcomes).toEqual([
        { status: 200, headers: { location: `${BASE}/Users/a`, etag: 'W/"2"' }, body: userA },
        { status: 204, headers: { location: `${BASE}/Users/b` }, body: undefined },
        { status: 200, headers: { location: `${BASE}/Groups/g/` }, body: groupPut },
        { status: 200, headers: { location: `${BASE}/Groups/g`, etag: 'W/"9"' }, body: groupPatch },
      ]);
    });

    it('matches error results without a location by position and keeps their SCIM error body', async () => {
      const queued = [patch('/Users/a'), patch('/Users/b'), post('dup')];
      const { transport, writes, release } = await withQueued(queued);
      await release();
      const notFound = { schemas: [SCIM_ERROR], status: '404', detail: 'No such user' };
      const conflict = { schemas: [SCIM_ERROR], status: '409', scimType: 'uniqueness', detail: 'Taken' };
      transport.bulks[0].answer.resolve(
        bulkResponse([
          { method: 'PATCH', status: '404', response: notFound },
          { method: 'PATCH', location: `${BASE}/Users/b`, status: '200' },
          { method: 'POST', status: '409', response: conflict },
        ]),
      );
      const [a, b, dup] = await Promise.all(writes);
      expect(a).toEqual({ status: 404, headers: {}, body: notFound });
      expect(b).toEqual({ status: 200, headers: { location: `${BASE}/Users/b` }, body: undefined });
      expect(dup).toEqual({ status: 409, headers: {}, body: conflict });
    });

    it('keeps an id whose location is not valid percent-encoding as it stands, and the other results', async () => {
      const { transport, writes, release } = await withQueued([post('a'), del('/Users/z')]);
      await release();
      const bulkId = transport.bulks[0].body.Operations[0].bulkId;
      transport.bulks[0].answer.resolve(
        bulkResponse([
          { method: 'POST', bulkId, location: `${BASE}/Users/bad%E0%A4%A`, status: '201' },
          { method: 'DELETE', location: `${BASE}/Users/z`, status: '204' },
        ]),
      );
      const [created, deleted] = await Promise.all(writes);
      expect(created).toMatchObject({ status: 201, body: { id: 'bad%E0%A4%A' } });
      expect(deleted).toMatchObject({ status: 204 });
    });

    it('gives a write its operation left out of the Bulk response a sent error', async () => {
      const { transport, writes, release } = await withQueued([
        patch('/Users/a'),
        patch('/Users/b'),
        post('c'),
      ]);
      await release();
      const c = transport.bulks[0].body.Operations[2].bulkId;
      transport.bulks[0].answer.resolve(
        bulkResponse([
          { method: 'POST', bulkId: c, location: `${BASE}/Users/u-c`, status: '201' },
          { method: 'PATCH', location: `${BASE}/Users/a`, status: '200' },
        ]),
      );
      const [a, b, created] = await Promise.all(writes);
      expect(a).toMatchObject({ status: 200 });
      expect(created).toMatchObject({ status: 201, body: { id: 'u-c' } });
      expect(b).toEqual({ error: expect.any(Error), sent: true });
    });

    it('gives a write whose result has an unreadable status a sent error', async () => {
      const { transport, writes, release } = await withQueued([patch('/Users/a'), patch('/Users/b')]);
      await release();
      transport.bulks[0].answer.resolve(
        bulkResponse([
          { method: 'PATCH', location: `${BASE}/Users/a`, status: { code: 200 } },
          { method: 'PATCH', location: `${BASE}/Users/b`, status: 200 },
        ]),
      );
      const [a, b] = await Promise.all(writes);
      expect(a).toEqual({ error: expect.any(Error), sent: true });
      expect(b).toMatchObject({ status: 200 });
    });
  });

  describe('failed Bulk requests', () => {
    it.each([true, false])(
      'gives every write a network failure of the Bulk request (sent: %s)',
      async (sent) => {
        const { transport, writes, release } = await withQueued([
          post('a'),
          patch('/Users/b'),
          del('/Users/c'),
        ]);
        await release();
        const failure: HttpOutcome = {
          error: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
          sent,
        };
        transport.bulks[0].answer.resolve(failure);
        for (const outcome of await Promise.all(writes)) expect(outcome).toStrictEqual(failure);
        expect(transport.unsupportedReasons).toEqual([]);
        expect(transport.singles).toHaveLength(1);
      },
    );

    it.each([429, 503, 500, 401])(
      'gives every write a whole-request %i and keeps using Bulk',
      async (status) => {
        const { batcher, transport, writes, release } = await withQueued([post('a'), patch('/Users/b')]);
        await release();
        const answer = response(
          status,
          { schemas: [SCIM_ERROR], status: String(status) },
          { 'retry-after': '3' },
        );
        const later = [batcher.submit(del('/Users/x')), batcher.submit(del('/Users/y'))];
        transport.bulks[0].answer.resolve(answer);
        for (const outcome of await Promise.all(writes)) expect(outcome).toBe(answer);
        await settle();

        expect(transport.unsupportedReasons).toEqual([]);
        expect(transport.singles).toHaveLength(1);
        expect(transport.bulks).toHaveLength(2);
        expect(transport.bulks[1].body.Operations.map((o) => o.path)).toEqual(['/Users/x', '/Users/y']);
        transport.bulks[1].answer.resolve(allApplied(transport.bulks[1]));
        await Promise.all(later);
      },
    );
  });

  describe('apps that do not take Bulk after all', () => {
    it.each([404, 501, 400, 405, 413, 415])(
      'after a whole-request %i re-sends the batch singly and sends everything later singly too',
      async (status) => {
        const queued = [post('a'), patch('/Users/b'), del('/Users/c')];
        const { batcher, transport, writes, release } = await withQueued(queued);
        await release();
        transport.bulks[0].answer.resolve(response(status, 'Not Found'));
        await settle();

        expect(transport.unsupportedReasons).toHaveLength(1);
        expect(transport.unsupportedReasons[0]).toContain(String(status));
        expect(transport.singles.slice(1).map((s) => s.req)).toEqual(queued);
        expect(transport.singles[1].req).toBe(queued[0]);

        // Writes arriving meanwhile queue, and go one by one.
        const later = [del('/Users/x'), del('/Users/y')];
        const laterWrites = later.map((req) => batcher.submit(req));
        const answers = [response(201, { id: 'u-a' }), response(200, { id: 'b' }), response(204)];
        answers.forEach((answer, i) => transport.singles[1 + i].answer.resolve(answer));
        const outcomes = await Promise.all(writes);
        outcomes.forEach((outcome, i) => expect(outcome).toBe(answers[i]));
        await settle();

        expect(transport.singles).toHaveLength(5);
        expect(transport.singles[4].req).toBe(later[0]);
        transport.singles[4].answer.resolve(response(204));
        await laterWrites[0];
        await settle();
        expect(transport.singles).toHaveLength(6);
        expect(transport.singles[5].req).toBe(later[1]);
        transport.singles[5].answer.resolve(response(204));
        await laterWrites[1];

        expect(transport.bulks).toHaveLength(1);
        expect(transport.unsupportedReasons).toHaveLength(1);
      },
    );

    it('settles each re-sent write on its own answer, and holds the slot until all have one', async () => {
      const { batcher, transport, writes, release } = await withQueued([del('/Users/a'), del('/Users/b')]);
      await release();
      transport.bulks[0].answer.resolve(response(404));
      await settle();
      expect(transport.singles.map((s) => s.req.path)).toEqual(['/Users/first', '/Users/a', '/Users/b']);
      const [a, b] = writes.map(track);
      const aborted = new DOMException('aborted', 'AbortError');
      transport.singles[1].answer.reject(aborted);
      await settle();
      expect(a.error).toBe(aborted);
      expect(b.settled).toBe(false);
      // b's request is still out: the slot is not free yet.
      const next = track(batcher.submit(del('/Users/next')));
      await settle();
      expect(transport.singles).toHaveLength(3);
      transport.singles[2].answer.resolve(response(204));
      await settle();
      expect(b.outcome).toMatchObject({ status: 204 });
      expect(transport.singles.map((s) => s.req.path).at(-1)).toBe('/Users/next');
      transport.singles[3].answer.resolve(response(204));
      await settle();
      expect(next.outcome).toMatchObject({ status: 204 });
    });

    it.each([
      ['no Operations', { schemas: [BULK_RESPONSE] }],
      ['Operations not an array', { schemas: [BULK_RESPONSE], Operations: {} }],
      ['a text body', 'OK'],
      ['no body', undefined],
    ])(
      'gives every write a sent error after a 200 with %s, and sends everything later singly',
      async (_, body) => {
        const { batcher, transport, writes, release } = await withQueued([post('a'), patch('/Users/b')]);
        await release();
        transport.bulks[0].answer.resolve(response(200, body));
        const outcomes = await Promise.all(writes);
        for (const outcome of outcomes) expect(outcome).toEqual({ error: expect.any(Error), sent: true });
        expect(transport.unsupportedReasons).toHaveLength(1);
        // Whether they were applied is unknown: they are not re-sent.
        expect(transport.singles).toHaveLength(1);

        await settle();
        const later = [batcher.submit(del('/Users/x')), batcher.submit(del('/Users/y'))];
        // One slot: the first goes at once, the second queues and then goes alone.
        expect(transport.singles).toHaveLength(2);
        transport.singles[1].answer.resolve(response(204));
        await later[0];
        await settle();
        expect(transport.singles).toHaveLength(3);
        transport.singles[2].answer.resolve(response(204));
        await later[1];
        expect(transport.bulks).toHaveLength(1);
      },
    );
  });

  describe('aborting', () => {
    it('takes back a queued write whose signal aborts: it is rejected and never sent', async () => {
      const controller = new AbortController();
      const aborted: BulkableRequest = { ...patch('/Users/aborted'), signal: controller.signal };
      const kept = del('/Users/kept');
      const { transport, writes, release } = await withQueued([aborted, kept]);

      controller.abort();
      await expect(writes[0]).rejects.toMatchObject({ name: 'AbortError' });

      await release();
      // Only one write left: it goes alone.
      expect(transport.bulks).toHaveLength(0);
      expect(transport.singles.map((s) => s.req)).toEqual([expect.anything(), kept]);
      transport.singles[1].answer.resolve(response(204));
      await expect(writes[1]).resolves.toMatchObject({ status: 204 });
    });

    it('rejects a queued write with the abort reason and leaves the rest of the queue in one Bulk request', async () => {
      const controller = new AbortController();
      const queued = [del('/Users/a'), { ...del('/Users/b'), signal: controller.signal }, del('/Users/c')];
      const { transport, writes, release } = await withQueued(queued);
      const reason = new Error('job cancelled');
      controller.abort(reason);
      await expect(writes[1]).rejects.toBe(reason);
      await release();
      expect(transport.bulks).toHaveLength(1);
      expect(transport.bulks[0].body.Operations.map((o) => o.path)).toEqual(['/Users/a', '/Users/c']);
      transport.bulks[0].answer.resolve(allApplied(transport.bulks[0]));
      await expect(Promise.all([writes[0], writes[2]])).resolves.toHaveLength(2);
    });

    it('rejects a write whose signal is already aborted at once, without taking a slot', async () => {
      const transport = new FakeTransport();
      const batcher = new BulkBatcher(LIMITS, 1, transport);
      await expect(batcher.submit({ ...post('a'), signal: AbortSignal.abort() })).rejects.toMatchObject({
        name: 'AbortError',
      });
      expect(transport.singles).toHaveLength(0);
      expect(transport.bulks).toHaveLength(0);

      const next = batcher.submit(del('/Users/x'));
      expect(transport.singles).toHaveLength(1);
      transport.singles[0].answer.resolve(response(204));
      await expect(next).resolves.toMatchObject({ status: 204 });
    });

    it('lets a write already sent run to its answer when its signal aborts', async () => {
      const controller = new AbortController();
      const { transport, writes, release } = await withQueued([
        { ...del('/Users/a'), signal: controller.signal },
        del('/Users/b'),
      ]);
      await release();
      expect(transport.bulks).toHaveLength(1);
      controller.abort();
      transport.bulks[0].answer.resolve(allApplied(transport.bulks[0]));
      await expect(writes[0]).resolves.toMatchObject({ status: 204 });
      await expect(writes[1]).resolves.toMatchObject({ status: 204 });
    });
  });
});

describe('isBulkable', () => {
  it.each([
    ['POST', '/Users', true],
    ['PATCH', '/Groups/abc', true],
    ['DELETE', '/Users/x', true],
    ['PUT', '/Groups/g-1', true],
    ['GET', '/Users', false],
    ['GET', '/Users/x', false],
    ['POST', '/Bulk', false],
    ['POST', '/Users/x/y', false],
    ['PATCH', '/Users?filter=x', false],
    ['POST', '/Schemas', false],
  ])('%s %s → %s', (method, path, expected) => {
    expect(isBulkable(method, path)).toBe(expected);
  });
});
