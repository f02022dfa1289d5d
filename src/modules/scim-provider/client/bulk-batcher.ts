import { BULK_REQUEST_SCHEMA } from '../../../lib/scim/schema.types.js';
import type { HttpOutcome } from './scim-client.errors.js';

/** What one Bulk request may carry: the app's ServiceProviderConfig limits, capped by ours. */
export interface BulkLimits {
  maxOperations: number;
  maxPayloadSize: number;
}

/** A write the batcher may carry in a Bulk request. */
export interface BulkableRequest {
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** `/Users`, `/Users/{id}`, `/Groups`, `/Groups/{id}`. */
  path: string;
  /** Sent when the write goes alone; a Bulk operation has no query (RFC 7644 §3.7). */
  query?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
}

/** How the batcher reaches the app; both hold one of the client's request slots. */
export interface BulkTransport {
  /** One plain request (a batch of one, or an app that turned out not to take Bulk). */
  single(req: BulkableRequest): Promise<HttpOutcome>;
  /** `POST /Bulk` with this body. */
  bulk(body: unknown, operations: number): Promise<HttpOutcome>;
  /** The app does not take Bulk after all: the batcher sends everything singly from now on. */
  unsupported(reason: string): void;
}

interface Pending {
  req: BulkableRequest;
  operation: BulkOperation;
  size: number;
  resolve(outcome: HttpOutcome): void;
  reject(error: unknown): void;
  unlisten(): void;
}

interface BulkOperation {
  method: BulkableRequest['method'];
  path: string;
  bulkId?: string;
  data?: unknown;
}

interface BulkResult {
  method?: unknown;
  bulkId?: unknown;
  location?: unknown;
  version?: unknown;
  status?: unknown;
  response?: unknown;
}

const RESOURCE_PATH = /^\/(Users|Groups)(\/[^/?]+)?$/;
/** Bytes of a Bulk request around its operations (schemas, brackets). */
const ENVELOPE_BYTES = 256;
/** Whole-request answers that say "this app does not do Bulk (like that)": send singly instead. */
const UNSUPPORTED_STATUSES = new Set([400, 404, 405, 413, 415, 501]);

/** Whether a request is a write the batcher may carry. */
export function isBulkable(method: string, path: string): method is BulkableRequest['method'] {
  return method !== 'GET' && RESOURCE_PATH.test(path);
}

/**
 * Carries concurrent writes to one app in SCIM Bulk requests (RFC 7644 §3.7) when the app declares
 * Bulk support. Nothing waits to be batched: while fewer than `maxInFlight` requests are out, a
 * write goes at once, alone, as a plain request (so deltas and quiet times look exactly as without
 * Bulk); once they are all out, further writes queue, and each answer sends everything queued (up
 * to the app's operation and payload limits) as one Bulk request. Each write gets back its own
 * operation's outcome as if it had been sent alone, so retries, error kinds, lookups after a lost
 * create and the circuit breaker work per object as before. A lost or failed Bulk request gives
 * every one of its writes that failure (a create in it may have been applied: the engine looks it
 * up before creating again). An app that answers the Bulk request itself with 400/404/405/413/
 * 415/501 does not take Bulk after all: its writes are sent singly, and so is everything after.
 */
export class BulkBatcher {
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  private nextBulkId = 0;
  private singly = false;

  constructor(
    readonly limits: BulkLimits,
    private readonly maxInFlight: number,
    private readonly transport: BulkTransport,
  ) {}

  /** Sends one write, alone or in a Bulk request; resolves with its own outcome. */
  submit(req: BulkableRequest): Promise<HttpOutcome> {
    if (req.signal?.aborted) return Promise.reject(abortError(req.signal));
    return new Promise<HttpOutcome>((resolve, reject) => {
      const operation: BulkOperation = { method: req.method, path: req.path };
      if (req.method === 'POST') operation.bulkId = `b${(this.nextBulkId++).toString(36)}`;
      if (req.body !== undefined) operation.data = req.body;
      const onAbort = () => {
        // Only a write still queued can be taken back; one already sent runs to its answer.
        const at = this.queue.indexOf(pending);
        if (at < 0) return;
        this.queue.splice(at, 1);
        reject(abortError(req.signal!));
      };
      const pending: Pending = {
        req,
        operation,
        size: Buffer.byteLength(JSON.stringify(operation)) + 1,
        resolve,
        reject,
        unlisten: () => req.signal?.removeEventListener('abort', onAbort),
      };
      req.signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(pending);
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.take();
      for (const p of batch) p.unlisten();
      this.inFlight++;
      void this.send(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  /** The queued writes that fit in one request, oldest first. */
  private take(): Pending[] {
    if (this.singly) return this.queue.splice(0, 1);
    let bytes = ENVELOPE_BYTES;
    let count = 0;
    for (const p of this.queue) {
      if (count >= this.limits.maxOperations) break;
      if (count > 0 && bytes + p.size > this.limits.maxPayloadSize) break;
      bytes += p.size;
      count++;
    }
    return this.queue.splice(0, Math.max(1, count));
  }

  private async send(batch: Pending[]): Promise<void> {
    try {
      if (batch.length === 1) {
        batch[0]!.resolve(await this.transport.single(batch[0]!.req));
        return;
      }
      const outcome = await this.transport.bulk(
        { schemas: [BULK_REQUEST_SCHEMA], Operations: batch.map((p) => p.operation) },
        batch.length,
      );
      if ('error' in outcome) {
        for (const p of batch) p.resolve(outcome);
        return;
      }
      if (UNSUPPORTED_STATUSES.has(outcome.status)) {
        this.singly = true;
        this.transport.unsupported(`the app answered a Bulk request with ${outcome.status}`);
        // Each write settles on its own answer (one aborted write must not fail the others).
        await Promise.all(
          batch.map((p) =>
            this.transport.single(p.req).then(
              (single) => p.resolve(single),
              (error: unknown) => p.reject(error),
            ),
          ),
        );
        return;
      }
      if (outcome.status < 200 || outcome.status >= 300) {
        // 401/403, 408, 429, 5xx, redirects: every write in it has that answer.
        for (const p of batch) p.resolve(outcome);
        return;
      }
      const results = resultsOf(outcome.body);
      if (!results) {
        // An answer we cannot read: whether its writes were applied is unknown.
        this.singly = true;
        this.transport.unsupported('the app answered a Bulk request with no readable Operations');
        const error = new Error('The app answered a Bulk request with no readable Operations');
        for (const p of batch) p.resolve({ error, sent: true });
        return;
      }
      const matched = matchResults(batch, results);
      batch.forEach((p, i) => {
        const result = matched[i];
        p.resolve(
          result
            ? outcomeOf(p.operation, result)
            : { error: new Error('The app left this operation out of its Bulk response'), sent: true },
        );
      });
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }
}

function resultsOf(body: unknown): BulkResult[] | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const operations = (body as { Operations?: unknown }).Operations;
  if (!Array.isArray(operations)) return undefined;
  return operations.filter((o): o is BulkResult => typeof o === 'object' && o !== null);
}

/**
 * Pairs each operation with its result: a POST by its bulkId; others by the resource their
 * `location` names; what is left by position (an app answers in request order when no operation
 * refers to another, and error results need not carry a location).
 */
function matchResults(batch: Pending[], results: BulkResult[]): (BulkResult | undefined)[] {
  const used = new Set<number>();
  const matched: (BulkResult | undefined)[] = batch.map(() => undefined);
  batch.forEach((p, i) => {
    const { method, bulkId, path } = p.operation;
    const at = results.findIndex((r, j) => {
      if (used.has(j) || String(r.method ?? method).toUpperCase() !== method) return false;
      if (bulkId !== undefined) return r.bulkId === bulkId;
      return typeof r.location === 'string' && locationPath(r.location) === path;
    });
    if (at >= 0) {
      used.add(at);
      matched[i] = results[at];
    }
  });
  batch.forEach((p, i) => {
    if (matched[i] || used.has(i) || !results[i]) return;
    const r = results[i];
    if (String(r.method ?? p.operation.method).toUpperCase() !== p.operation.method) return;
    if (p.operation.bulkId !== undefined && r.bulkId !== undefined) return;
    used.add(i);
    matched[i] = r;
  });
  return matched;
}

/** `https://app/scim/v2/Users/abc` → `/Users/abc`. */
function locationPath(location: string): string | undefined {
  const match = /\/(Users|Groups)\/([^/?#]+)\/?(?:[?#].*)?$/.exec(location);
  return match ? `/${match[1]}/${match[2]}` : undefined;
}

function outcomeOf(operation: BulkOperation, result: BulkResult): HttpOutcome {
  const status = Number(typeof result.status === 'object' ? undefined : result.status);
  if (!Number.isInteger(status) || status < 100) {
    return {
      error: new Error(`The app answered a Bulk operation with status ${String(result.status)}`),
      sent: true,
    };
  }
  const headers: Record<string, string> = {};
  if (typeof result.location === 'string') headers.location = result.location;
  if (typeof result.version === 'string') headers.etag = result.version;
  let body = result.response;
  if (
    body === undefined &&
    operation.method === 'POST' &&
    status < 300 &&
    typeof result.location === 'string'
  ) {
    // Bulk answers carry the new resource's location, not the resource: its id is the last segment.
    const id = /\/([^/?#]+)\/?(?:[?#].*)?$/.exec(result.location)?.[1];
    if (id) body = { id: decodeSegment(id) };
  }
  return { status, headers, body };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // not percent-encoding after all: the id as it stands
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new DOMException('This operation was aborted', 'AbortError');
}
