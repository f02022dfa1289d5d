import { describe, expect, it } from 'vitest';
import { CircuitBreaker, RateLimiter } from './flow-control.js';
import { SyncError } from './scim-client.errors.js';

describe('CircuitBreaker', () => {
  const make = () => {
    let now = 0;
    const states: string[] = [];
    const breaker = new CircuitBreaker(
      { threshold: 3, minOpenMs: 1000, maxOpenMs: 4000 },
      () => now,
      (s) => states.push(s),
    );
    return { breaker, states, advance: (ms: number) => (now += ms) };
  };

  it('opens after the threshold of consecutive failures and fails fast with the reopening time', () => {
    const { breaker, states } = make();
    for (let i = 0; i < 3; i++) breaker.failure(breaker.admit().probe);
    expect(states).toEqual(['open']);
    let error: unknown;
    try {
      breaker.admit();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SyncError);
    expect((error as SyncError).kind).toBe('transient');
    expect((error as SyncError).details.retryAfterMs).toBe(1000);
  });

  it('a success in between resets the count', () => {
    const { breaker, states } = make();
    breaker.failure(false);
    breaker.failure(false);
    breaker.success(false);
    breaker.failure(false);
    expect(states).toEqual([]);
  });

  it('lets one probe through when the time is up; its success closes, its failure doubles the wait', () => {
    const { breaker, states, advance } = make();
    for (let i = 0; i < 3; i++) breaker.failure(false);
    advance(1000);
    const { probe } = breaker.admit();
    expect(probe).toBe(true);
    expect(() => breaker.admit()).toThrow(SyncError); // only one probe at a time
    breaker.failure(true);
    advance(1000);
    expect(() => breaker.admit()).toThrow(SyncError); // now open for 2 s
    advance(1000);
    expect(breaker.admit().probe).toBe(true);
    breaker.success(true);
    expect(breaker.state).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });
});

describe('RateLimiter', () => {
  it('spaces requests at the configured rate', async () => {
    const limiter = new RateLimiter(50);
    const started = Date.now();
    for (let i = 0; i < 6; i++) await limiter.acquire();
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
  });

  it('makes everyone wait after a pause (Retry-After)', async () => {
    const limiter = new RateLimiter(null);
    limiter.pause(80);
    const started = Date.now();
    await Promise.all([limiter.acquire(), limiter.acquire()]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(70);
  });
});
