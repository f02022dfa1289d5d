import { Agent, Pool, request as undiciRequest, type Dispatcher } from 'undici';
import { retryDelayMs } from '../../../platform/jobs/index.js';
import {
  bulkOperationsTotal,
  bulkRequestsTotal,
  circuitOpen,
  requestDuration,
  requestsTotal,
} from '../scim-provider.metrics.js';
import { BulkBatcher, isBulkable, type BulkableRequest, type BulkLimits } from './bulk-batcher.js';
import type { ServiceProviderCapabilities } from './compatibility.js';
import { Semaphore } from '../../../lib/concurrency.js';
import { CircuitBreaker, RateLimiter, sleep } from './flow-control.js';
import { classifyOutcome, SyncError, type HttpOutcome } from './scim-client.errors.js';

export type ProviderAuth =
  | { type: 'bearer'; token: string }
  | { type: 'oauth2'; tokenUrl: string; clientId: string; clientSecret: string; scope: string | null };

/** Everything the client needs to know about a provider (secrets already decrypted). */
export interface ClientTarget {
  providerId: string;
  /** The provider's version: a changed provider gets a new client (and a fresh ServiceProviderConfig). */
  version: number;
  url: string;
  auth: ProviderAuth;
  tlsVerify: boolean;
  caBundle: string | null;
  timeoutMs: number;
  maxConcurrency: number;
  maxRequestsPerSecond: number | null;
  /** Longest time the circuit stays open before probing again. */
  circuitMaxOpenMs: number;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ScimRequest {
  method: HttpMethod;
  /** Path below the provider's base URL, e.g. `/Users/123`. */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
  /** Retry after an error that may have been applied (default: every method but POST). */
  idempotent?: boolean;
  /** In-client retries of transient and rate-limited failures (default 3). */
  retries?: number;
}

export interface ScimResponse {
  status: number;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

const SCIM_JSON = 'application/scim+json';
const SPC_TTL_MS = 10 * 60_000;
/** Longest Retry-After the client waits itself; longer ones go back to the job (rescheduled). */
const MAX_INLINE_WAIT_MS = 30_000;

/**
 * The ONLY code that speaks HTTP to downstream apps. One keep-alive undici Pool per provider,
 * timeouts, `application/scim+json`, bearer or OAuth2 client-credentials auth (token cached until
 * shortly before it expires, renewed once on a 401), provider-wide rate limiting and concurrency,
 * a circuit breaker, retries with backoff and jitter, and the app's ServiceProviderConfig cached
 * for ten minutes. Every outcome is classified by `classifyOutcome` — nowhere else.
 */
export class ScimClient {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly limiter: RateLimiter;
  private readonly breaker: CircuitBreaker;
  private readonly slots: Semaphore;
  private readonly tokens: TokenSource;
  private capabilities: { value: ServiceProviderCapabilities | undefined; at: number } | undefined;
  private batcher: BulkBatcher | undefined;
  private bulkRefused = false;

  /** `onBulkRefused`: told once when the app turns out not to take Bulk (why, in words). */
  constructor(
    readonly target: ClientTarget,
    private readonly onBulkRefused: (reason: string) => void = () => undefined,
  ) {
    const url = new URL(target.url);
    this.basePath = url.pathname.replace(/\/+$/, '');
    const tls = { rejectUnauthorized: target.tlsVerify, ...(target.caBundle ? { ca: target.caBundle } : {}) };
    this.pool = new Pool(url.origin, {
      connections: Math.max(1, target.maxConcurrency),
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: target.timeoutMs,
      bodyTimeout: target.timeoutMs,
      connect: { timeout: Math.min(10_000, target.timeoutMs), ...tls },
    });
    this.limiter = new RateLimiter(target.maxRequestsPerSecond);
    this.slots = new Semaphore(Math.max(1, target.maxConcurrency));
    this.breaker = new CircuitBreaker(
      { threshold: 5, minOpenMs: 1000, maxOpenMs: Math.max(1000, target.circuitMaxOpenMs) },
      Date.now,
      (state) => circuitOpen.set({ provider: target.providerId }, state === 'closed' ? 0 : 1),
    );
    circuitOpen.set({ provider: target.providerId }, 0);
    this.tokens =
      target.auth.type === 'bearer'
        ? new StaticToken(target.auth.token)
        : new OAuth2TokenSource(target.auth, tls, target.timeoutMs);
  }

  get circuitState() {
    return this.breaker.state;
  }

  async close(): Promise<void> {
    await this.pool.close().catch(() => undefined);
    await this.tokens.close();
  }

  /** Sends one request (with retries); resolves with a 2xx response or throws a {@link SyncError}. */
  async request(req: ScimRequest): Promise<ScimResponse> {
    const idempotent = req.idempotent ?? req.method !== 'POST';
    const retries = req.retries ?? 3;
    let renewedToken = false;
    for (let attempt = 1; ; attempt++) {
      let error: SyncError;
      try {
        return await this.once(req, attempt);
      } catch (caught) {
        if (!(caught instanceof SyncError)) throw caught;
        error = caught;
      }
      if (error.kind === 'fatal' && error.details.status === 401 && this.tokens.renewable && !renewedToken) {
        renewedToken = true;
        this.tokens.invalidate();
        continue;
      }
      const mayRetry =
        attempt <= retries &&
        error.details.code !== 'CIRCUIT_OPEN' &&
        (error.kind === 'rateLimited' ||
          (error.kind === 'transient' && (idempotent || error.details.maybeApplied === false)));
      if (!mayRetry) throw error;
      const wait =
        error.kind === 'rateLimited'
          ? (error.details.retryAfterMs ?? 1000)
          : retryDelayMs(attempt, { baseMs: 200, maxMs: 5000 });
      if (wait > MAX_INLINE_WAIT_MS) throw error;
      await sleep(wait, req.signal);
    }
  }

  private async once(req: ScimRequest, attempt: number): Promise<ScimResponse> {
    const batcher = this.batcher && isBulkable(req.method, req.path) ? this.batcher : undefined;
    const attemptOnce = async () => {
      await this.limiter.acquire(req.signal);
      const { probe } = this.breaker.admit();
      const stop = requestDuration.startTimer({ provider: this.target.providerId, method: req.method });
      let outcome: HttpOutcome;
      try {
        outcome = batcher
          ? await batcher.submit({ ...req, method: req.method as BulkableRequest['method'] })
          : await this.exchange(req);
      } catch (error) {
        this.breaker.release(probe);
        throw error;
      } finally {
        stop();
      }
      return this.settle(req, outcome, probe, attempt);
    };
    // The batcher takes a slot per HTTP request it sends, not per write in it.
    return batcher ? attemptOnce() : this.slots.run(attemptOnce);
  }

  /** One HTTP exchange; its outcome, or a throw when the caller aborted (or no token could be had). */
  private async exchange(req: {
    method: string;
    path: string;
    query?: Record<string, string>;
    body?: unknown;
    signal?: AbortSignal;
  }): Promise<HttpOutcome> {
    const token = await this.tokens.get();
    const query = req.query ? `?${new URLSearchParams(req.query).toString()}` : '';
    try {
      const res = await this.pool.request({
        method: req.method as Dispatcher.HttpMethod,
        path: `${this.basePath}${req.path}${query}`,
        headers: {
          authorization: `Bearer ${token}`,
          accept: `${SCIM_JSON}, application/json`,
          ...(req.body !== undefined ? { 'content-type': SCIM_JSON } : {}),
          'user-agent': 'identity-bridge',
        },
        body: req.body !== undefined ? JSON.stringify(req.body) : undefined,
        signal: req.signal,
      });
      return { status: res.statusCode, headers: res.headers, body: await readBody(res.body) };
    } catch (error) {
      if (req.signal?.aborted) throw error;
      return { error, sent: !isConnectError(error) };
    }
  }

  /** Classifies an outcome (the only place), counts it and tells the breaker and the limiter. */
  private settle(req: ScimRequest, outcome: HttpOutcome, probe: boolean, attempt: number): ScimResponse {
    const failure = classifyOutcome(outcome);
    requestsTotal.inc({
      provider: this.target.providerId,
      method: req.method,
      outcome: failure ? failure.kind : `${Math.floor((outcome as { status: number }).status / 100)}xx`,
    });
    if (!failure) {
      this.breaker.success(probe);
      return outcome as ScimResponse;
    }
    if (failure.kind === 'transient') this.breaker.failure(probe);
    else if (failure.kind === 'rateLimited') {
      this.limiter.pause(failure.details.retryAfterMs ?? 1000);
      this.breaker.release(probe);
    } else this.breaker.success(probe); // the app is up: it answered
    if (attempt > 1) failure.message = `${failure.message} (after ${attempt} attempts)`;
    throw failure;
  }

  // ---------------------------------------------------------------------------------------------
  // Bulk
  // ---------------------------------------------------------------------------------------------

  /**
   * Carries concurrent writes in SCIM Bulk requests within these limits (the effective profile's,
   * from the app's ServiceProviderConfig), or stops doing so (null). An app that turned out not to
   * take Bulk keeps getting single requests for the life of this client.
   */
  useBulk(limits: BulkLimits | null): void {
    if (this.bulkRefused || !limits) {
      this.batcher = undefined;
      return;
    }
    const current = this.batcher?.limits;
    if (current?.maxOperations === limits.maxOperations && current.maxPayloadSize === limits.maxPayloadSize)
      return;
    const provider = this.target.providerId;
    this.batcher = new BulkBatcher(limits, Math.max(1, this.target.maxConcurrency), {
      single: (req) => this.slots.run(() => this.exchange(req)),
      bulk: (body, operations) =>
        this.slots.run(async () => {
          bulkRequestsTotal.inc({ provider });
          bulkOperationsTotal.inc({ provider }, operations);
          return this.exchange({ method: 'POST', path: '/Bulk', body });
        }),
      unsupported: (reason) => {
        this.bulkRefused = true;
        this.batcher = undefined;
        this.onBulkRefused(reason);
      },
    });
  }

  // ---------------------------------------------------------------------------------------------
  // ServiceProviderConfig
  // ---------------------------------------------------------------------------------------------

  /** The app's declared capabilities, cached for ten minutes; undefined when it has no such endpoint. */
  async serviceProviderConfig(signal?: AbortSignal): Promise<ServiceProviderCapabilities | undefined> {
    if (this.capabilities && Date.now() - this.capabilities.at < SPC_TTL_MS) return this.capabilities.value;
    let value: ServiceProviderCapabilities | undefined;
    try {
      const res = await this.request({ method: 'GET', path: '/ServiceProviderConfig', signal, retries: 1 });
      value = parseCapabilities(res.body);
    } catch (error) {
      if (
        !(error instanceof SyncError) ||
        error.kind === 'fatal' ||
        error.kind === 'transient' ||
        error.kind === 'rateLimited'
      )
        throw error;
      value = undefined; // 404 / 400: the app does not publish it; the profile decides
    }
    this.capabilities = { value, at: Date.now() };
    return value;
  }
}

function parseCapabilities(body: unknown): ServiceProviderCapabilities {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<
    string,
    | { supported?: unknown; maxResults?: unknown; maxOperations?: unknown; maxPayloadSize?: unknown }
    | undefined
  >;
  const positive = (value: unknown) =>
    typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
  const flag = (key: string) =>
    typeof b[key]?.supported === 'boolean' ? (b[key].supported as boolean) : undefined;
  return {
    patch: flag('patch'),
    filter: flag('filter'),
    bulk: flag('bulk'),
    filterMaxResults: typeof b.filter?.maxResults === 'number' ? b.filter.maxResults : undefined,
    bulkMaxOperations: positive(b.bulk?.maxOperations),
    bulkMaxPayloadSize: positive(b.bulk?.maxPayloadSize),
  };
}

async function readBody(body: Dispatcher.ResponseData['body']): Promise<unknown> {
  const text = await body.text();
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text.slice(0, 1000);
  }
}

function isConnectError(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return (
    code === 'ECONNREFUSED' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'ENOTFOUND' ||
    code === 'EHOSTUNREACH'
  );
}

// -------------------------------------------------------------------------------------------------
// Credentials
// -------------------------------------------------------------------------------------------------

interface TokenSource {
  readonly renewable: boolean;
  get(): Promise<string>;
  invalidate(): void;
  close(): Promise<void>;
}

class StaticToken implements TokenSource {
  readonly renewable = false;
  constructor(private readonly token: string) {}
  get(): Promise<string> {
    return Promise.resolve(this.token);
  }
  invalidate(): void {}
  async close(): Promise<void> {}
}

/** OAuth2 client credentials (RFC 6749 §4.4): one token at a time, renewed 30 s before it expires. */
export class OAuth2TokenSource implements TokenSource {
  readonly renewable = true;
  private cached: { token: string; expiresAt: number } | undefined;
  private pending: Promise<string> | undefined;
  private readonly agent: Agent;

  constructor(
    private readonly auth: Extract<ProviderAuth, { type: 'oauth2' }>,
    tls: { rejectUnauthorized: boolean; ca?: string },
    private readonly timeoutMs: number,
  ) {
    this.agent = new Agent({
      connect: { timeout: Math.min(10_000, timeoutMs), ...tls },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  }

  get(): Promise<string> {
    if (this.cached && Date.now() < this.cached.expiresAt) return Promise.resolve(this.cached.token);
    this.pending ??= this.fetch().finally(() => (this.pending = undefined));
    return this.pending;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
  }

  private async fetch(): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (this.auth.scope) form.set('scope', this.auth.scope);
    const basic = Buffer.from(
      `${encodeURIComponent(this.auth.clientId)}:${encodeURIComponent(this.auth.clientSecret)}`,
    ).toString('base64');
    let outcome: HttpOutcome;
    try {
      const res = await undiciRequest(this.auth.tokenUrl, {
        method: 'POST',
        dispatcher: this.agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          authorization: `Basic ${basic}`,
        },
        body: form.toString(),
      });
      outcome = { status: res.statusCode, headers: res.headers, body: await readBody(res.body) };
    } catch (error) {
      outcome = { error, sent: !isConnectError(error) };
    }
    const failure = classifyOutcome(outcome);
    if (failure) {
      if (failure.retryable) throw failure;
      throw new SyncError(
        'fatal',
        `OAuth2 token request to ${this.auth.tokenUrl} failed: ${failure.message}`,
        { status: failure.details.status },
      );
    }
    const body = (outcome as ScimResponse).body as
      { access_token?: unknown; expires_in?: unknown } | undefined;
    if (typeof body?.access_token !== 'string' || body.access_token.length === 0) {
      throw new SyncError('fatal', `OAuth2 token response from ${this.auth.tokenUrl} has no access_token`);
    }
    const lifetime =
      typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in * 1000 : 3600_000;
    this.cached = { token: body.access_token, expiresAt: Date.now() + Math.max(1000, lifetime - 30_000) };
    return body.access_token;
  }
}
