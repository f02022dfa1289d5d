import { describe, expect, it } from 'vitest';
import { classifyOutcome, retryAfterMs, type HttpOutcome } from './scim-client.errors.js';

const res = (
  status: number,
  headers: Record<string, string> = {},
  body: unknown = undefined,
): HttpOutcome => ({ status, headers, body });
const net = (code: string, sent = true): HttpOutcome => ({
  error: Object.assign(new Error(code), { code }),
  sent,
});

describe('classifyOutcome: every HTTP outcome is exactly one kind', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const cases: {
    name: string;
    outcome: HttpOutcome;
    kind: string | null;
    retryAfterMs?: number;
    maybeApplied?: boolean;
  }[] = [
    { name: '200 is success', outcome: res(200), kind: null },
    { name: '201 is success', outcome: res(201), kind: null },
    { name: '204 is success', outcome: res(204), kind: null },
    {
      name: '500 is transient and may have been applied',
      outcome: res(500),
      kind: 'transient',
      maybeApplied: true,
    },
    { name: '502 is transient', outcome: res(502), kind: 'transient' },
    {
      name: '503 without Retry-After is transient, not applied',
      outcome: res(503),
      kind: 'transient',
      maybeApplied: false,
    },
    {
      name: '503 with Retry-After is rate limited',
      outcome: res(503, { 'retry-after': '7' }),
      kind: 'rateLimited',
      retryAfterMs: 7000,
    },
    { name: '504 is transient', outcome: res(504), kind: 'transient' },
    { name: '408 is transient', outcome: res(408), kind: 'transient' },
    {
      name: '429 with delay-seconds',
      outcome: res(429, { 'retry-after': '3' }),
      kind: 'rateLimited',
      retryAfterMs: 3000,
    },
    {
      name: '429 with an HTTP date',
      outcome: res(429, { 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }),
      kind: 'rateLimited',
      retryAfterMs: 5000,
    },
    {
      name: '429 without Retry-After waits a second',
      outcome: res(429),
      kind: 'rateLimited',
      retryAfterMs: 1000,
    },
    { name: '401 is fatal', outcome: res(401), kind: 'fatal' },
    { name: '403 is fatal', outcome: res(403), kind: 'fatal' },
    { name: '404 is not found', outcome: res(404), kind: 'notFound' },
    {
      name: '409 is conflict',
      outcome: res(409, {}, { scimType: 'uniqueness', detail: 'taken' }),
      kind: 'conflict',
    },
    { name: '400 is rejected', outcome: res(400, {}, { scimType: 'invalidValue' }), kind: 'rejected' },
    { name: '413 is rejected', outcome: res(413), kind: 'rejected' },
    { name: '422 is rejected', outcome: res(422), kind: 'rejected' },
    { name: '301 is fatal (wrong URL)', outcome: res(301), kind: 'fatal' },
    {
      name: 'connection reset is transient and may have been applied',
      outcome: net('ECONNRESET'),
      kind: 'transient',
      maybeApplied: true,
    },
    {
      name: 'connection refused is transient, not applied',
      outcome: net('ECONNREFUSED', false),
      kind: 'transient',
      maybeApplied: false,
    },
    {
      name: 'socket closed by the other side is transient',
      outcome: net('UND_ERR_SOCKET'),
      kind: 'transient',
    },
    { name: 'a timeout is transient', outcome: net('UND_ERR_HEADERS_TIMEOUT'), kind: 'transient' },
    { name: 'an unknown host is fatal', outcome: net('ENOTFOUND', false), kind: 'fatal' },
    {
      name: 'an untrusted certificate is fatal',
      outcome: net('SELF_SIGNED_CERT_IN_CHAIN', false),
      kind: 'fatal',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const error = classifyOutcome(c.outcome, now);
      expect(error?.kind ?? null).toBe(c.kind);
      if (c.retryAfterMs !== undefined) expect(error?.details.retryAfterMs).toBe(c.retryAfterMs);
      if (c.maybeApplied !== undefined) expect(error?.details.maybeApplied).toBe(c.maybeApplied);
    });
  }

  it('finds a fatal code deep in the cause chain', () => {
    const error = new Error('fetch failed', {
      cause: Object.assign(new Error('cert'), { code: 'CERT_HAS_EXPIRED' }),
    });
    expect(
      classifyOutcome({ error: Object.assign(error, { code: 'UND_ERR_SOCKET' }), sent: false })?.kind,
    ).toBe('fatal');
  });

  it('carries the SCIM error detail and scimType', () => {
    const error = classifyOutcome(
      res(400, {}, { schemas: [], status: '400', scimType: 'invalidValue', detail: 'bad email' }),
    );
    expect(error?.message).toContain('bad email');
    expect(error?.details.scimType).toBe('invalidValue');
  });

  it('caps Retry-After at ten minutes and ignores garbage', () => {
    expect(retryAfterMs('100000')).toBe(600_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});
