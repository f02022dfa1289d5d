/** At most `limit` holders at once; the rest wait in order. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private limit: number) {}

  /** Nobody holds or waits for a place. */
  get idle(): boolean {
    return this.active === 0 && this.waiting.length === 0;
  }

  setLimit(limit: number): void {
    this.limit = limit;
    this.drain();
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    await new Promise<void>((resolve) => this.take(resolve));
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  /** Calls `then` once a place is held (at once when one is free); the holder must {@link release} it. */
  take(then: () => void): void {
    if (this.active < this.limit) {
      this.active++;
      then();
    } else {
      this.waiting.push(then);
    }
  }

  release(): void {
    this.active--;
    this.drain();
  }

  private drain(): void {
    while (this.active < this.limit && this.waiting.length > 0) {
      this.active++;
      this.waiting.shift()!();
    }
  }
}

/** Runs `fn` over `items` with at most `limit` at once; stops starting new ones once `signal` aborts. */
export async function pMap<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length && !signal?.aborted) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results.filter((r) => r !== undefined);
}
