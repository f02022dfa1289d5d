/**
 * Exponential backoff with full jitter: attempt 1 waits up to `baseMs`, each further attempt up to
 * twice as long, never more than `maxMs`. Jitter spreads retries of many jobs that failed together
 * (an app outage) so they do not return as one wave.
 */
export function retryDelayMs(
  attempt: number,
  policy: { baseMs: number; maxMs: number },
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  // Half fixed, half random: never retries immediately, still spread.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
