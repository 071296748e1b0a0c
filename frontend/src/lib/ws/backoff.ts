export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 15_000, factor: 2 };

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential growth capped at `maxMs`,
 * with "equal jitter" — half fixed, half random — so many clients that lost the same server
 * do not all come back in the same millisecond, yet none retries immediately.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * options.factor ** attempt);
  return ceiling / 2 + random() * (ceiling / 2);
}
