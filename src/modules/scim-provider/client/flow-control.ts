import { SyncError } from './scim-client.errors.js';

/**
 * Provider-wide request pacing in this process: at most `rate` requests per second (none when
 * null), and a pause that every request honours after the app answered 429 with Retry-After.
 */
export class RateLimiter {
  private nextFree = 0;
  private pausedUntil = 0;

  constructor(
    private rate: number | null,
    private readonly now: () => number = Date.now,
  ) {}

  setRate(rate: number | null): void {
    this.rate = rate;
  }

  /** Everyone waits at least until `ms` from now (Retry-After). */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  get pausedForMs(): number {
    return Math.max(0, this.pausedUntil - this.now());
  }

  /** Reserves the next slot; resolves when it has come. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const now = this.now();
    let at = Math.max(now, this.pausedUntil);
    if (this.rate !== null && this.rate > 0) {
      at = Math.max(at, this.nextFree);
      this.nextFree = at + 1000 / this.rate;
    }
    if (at > now) await sleep(at - now, signal);
  }
}

export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * Stops hammering a dead app: after `threshold` consecutive transient failures the circuit opens
 * and requests fail at once (as transient, with the reopening time) for a while that doubles on
 * each failed probe, up to `maxOpenMs`. When the time is up, one probe request goes through; its
 * success closes the circuit.
 */
export class CircuitBreaker {
  private failures = 0;
  private openUntil = 0;
  private openMs: number;
  private probing = false;
  private state_: CircuitState = 'closed';

  constructor(
    private readonly options: { threshold: number; minOpenMs: number; maxOpenMs: number },
    private readonly now: () => number = Date.now,
    private readonly onChange: (state: CircuitState) => void = () => undefined,
  ) {
    this.openMs = options.minOpenMs;
  }

  get state(): CircuitState {
    return this.state_;
  }

  /** Throws when no request may go now; returns whether this request is the half-open probe. */
  admit(): { probe: boolean } {
    if (this.state_ === 'closed') return { probe: false };
    const now = this.now();
    if (this.state_ === 'open' && now >= this.openUntil) this.set('half-open');
    if (this.state_ === 'half-open' && !this.probing) {
      this.probing = true;
      return { probe: true };
    }
    const wait = Math.max(this.openUntil - now, 200);
    throw new SyncError(
      'transient',
      `Circuit open: the app failed ${this.options.threshold} times in a row`,
      {
        retryAfterMs: wait,
        code: 'CIRCUIT_OPEN',
        maybeApplied: false,
      },
    );
  }

  success(probe: boolean): void {
    this.failures = 0;
    if (probe || this.state_ !== 'closed') {
      this.probing = false;
      this.openMs = this.options.minOpenMs;
      this.set('closed');
    }
  }

  /** A transient failure (5xx, network). Other outcomes are not the app being down. */
  failure(probe: boolean): void {
    this.failures++;
    if (probe) {
      this.probing = false;
      this.openMs = Math.min(this.openMs * 2, this.options.maxOpenMs);
      this.open();
      return;
    }
    if (this.state_ === 'closed' && this.failures >= this.options.threshold) this.open();
  }

  /** A probe that ended without telling us anything (e.g. rate limited): let another one try. */
  release(probe: boolean): void {
    if (probe) this.probing = false;
  }

  private open(): void {
    this.openUntil = this.now() + this.openMs;
    this.set('open');
  }

  private set(state: CircuitState): void {
    if (state === this.state_) return;
    this.state_ = state;
    this.onChange(state);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
