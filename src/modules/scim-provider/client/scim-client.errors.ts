/**
 * What a downstream app's answer means for sync. Every HTTP outcome becomes exactly one kind, in
 * exactly one function ({@link classifyOutcome}); the engine and jobs act on the kind only.
 *
 * | kind        | cause                                           | what sync does                               |
 * |-------------|-------------------------------------------------|----------------------------------------------|
 * | transient   | 5xx, 408, network error, timeout, circuit open  | retry with backoff and jitter                |
 * | rateLimited | 429 (and 503 with Retry-After)                  | honour Retry-After, slow the whole provider  |
 * | notFound    | 404                                             | recreate / relink the object                 |
 * | conflict    | 409                                             | look the object up and link it               |
 * | rejected    | other 4xx                                       | record against the object, carry on          |
 * | fatal       | 401, 403, 3xx, bad URL/host, TLS failure         | pause the provider with a clear status       |
 */
export type SyncErrorKind = 'transient' | 'rateLimited' | 'notFound' | 'conflict' | 'rejected' | 'fatal';

export const SYNC_ERROR_KINDS: readonly SyncErrorKind[] = [
  'transient',
  'rateLimited',
  'notFound',
  'conflict',
  'rejected',
  'fatal',
];

export class SyncError extends Error {
  constructor(
    readonly kind: SyncErrorKind,
    message: string,
    readonly details: {
      status?: number;
      /** When to try again (Retry-After, or the circuit breaker's reopening). */
      retryAfterMs?: number;
      /** SCIM error `scimType`, when the app sent one. */
      scimType?: string;
      /** Network error code (ECONNRESET, …). */
      code?: string;
      /** True when the request may have reached the app (a write may have happened). */
      maybeApplied?: boolean;
    } = {},
  ) {
    super(message);
    this.name = 'SyncError';
  }

  get retryable(): boolean {
    return this.kind === 'transient' || this.kind === 'rateLimited';
  }
}

export type HttpOutcome =
  | { status: number; headers: Record<string, string | string[] | undefined>; body: unknown }
  | { error: unknown; sent: boolean };

/** Network error codes that mean "this address will not work", not "try again". */
const FATAL_NETWORK_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN_PERMANENT',
  'ERR_INVALID_URL',
  'UND_ERR_INVALID_ARG',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_NOT_YET_VALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/**
 * The one function that turns an HTTP outcome into a sync error kind (or `null` for success).
 * `now` is injectable for tests of HTTP-date Retry-After values.
 */
export function classifyOutcome(outcome: HttpOutcome, now: number = Date.now()): SyncError | null {
  if ('error' in outcome) {
    const codes = errorCodes(outcome.error);
    const message = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
    const fatal = codes.find((c) => FATAL_NETWORK_CODES.has(c));
    if (fatal) return new SyncError('fatal', `Cannot reach the app: ${message}`, { code: fatal });
    const code = codes[0];
    return new SyncError('transient', `Network error: ${message}`, { code, maybeApplied: outcome.sent });
  }
  const { status, headers, body } = outcome;
  if (status >= 200 && status < 300) return null;
  const scim = scimErrorOf(body);
  const detail = scim.detail ? `: ${scim.detail}` : '';
  const base = { status, scimType: scim.scimType };
  if (status === 429) {
    return new SyncError('rateLimited', `Rate limited by the app (429)${detail}`, {
      ...base,
      retryAfterMs: retryAfterMs(headers['retry-after'], now) ?? 1000,
    });
  }
  if (status === 503 && headers['retry-after'] !== undefined) {
    return new SyncError('rateLimited', `The app is unavailable (503)${detail}`, {
      ...base,
      retryAfterMs: retryAfterMs(headers['retry-after'], now) ?? 1000,
      maybeApplied: false,
    });
  }
  if (status >= 500 || status === 408) {
    return new SyncError('transient', `The app answered ${status}${detail}`, {
      ...base,
      maybeApplied: status !== 503,
    });
  }
  if (status === 401 || status === 403) {
    return new SyncError('fatal', `The app refused our credentials (${status})${detail}`, base);
  }
  if (status === 404) return new SyncError('notFound', `Not found in the app (404)${detail}`, base);
  if (status === 409) return new SyncError('conflict', `Conflict in the app (409)${detail}`, base);
  if (status >= 300 && status < 400) {
    return new SyncError('fatal', `The app redirected (${status}); check the provider URL`, base);
  }
  return new SyncError('rejected', `The app rejected the request (${status})${detail}`, base);
}

/** Retry-After as delay-seconds or an HTTP date; capped to 10 minutes. */
export function retryAfterMs(
  value: string | string[] | undefined,
  now: number = Date.now(),
): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  const seconds = Number(text.trim());
  let ms: number;
  if (Number.isFinite(seconds)) ms = seconds * 1000;
  else {
    const date = Date.parse(text);
    if (Number.isNaN(date)) return undefined;
    ms = date - now;
  }
  return Math.min(Math.max(0, Math.round(ms)), 600_000);
}

function scimErrorOf(body: unknown): { detail?: string; scimType?: string } {
  if (typeof body !== 'object' || body === null) {
    return typeof body === 'string' && body.length > 0 ? { detail: body.slice(0, 300) } : {};
  }
  const b = body as Record<string, unknown>;
  const detail =
    typeof b.detail === 'string' ? b.detail : typeof b.message === 'string' ? b.message : undefined;
  const scimType = typeof b.scimType === 'string' ? b.scimType : undefined;
  return { detail: detail?.slice(0, 500), scimType };
}

/** Error codes along the `cause` chain (undici wraps socket and TLS errors). */
function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}
