import { describe, expect, it } from 'vitest';
import { Semaphore } from './concurrency.js';

describe('Semaphore', () => {
  it('never runs more than its limit at once', async () => {
    const semaphore = new Semaphore(2);
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        semaphore.run(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 5));
          active--;
        }),
      ),
    );
    expect(peak).toBe(2);
  });

  it('is idle only when nobody holds or waits for a place', async () => {
    const semaphore = new Semaphore(1);
    expect(semaphore.idle).toBe(true);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = semaphore.run(() => gate);
    const second = semaphore.run(async () => undefined);
    expect(semaphore.idle).toBe(false);
    release();
    await first;
    await second;
    expect(semaphore.idle).toBe(true);
  });
});
