/**
 * Joining like Serf's and Consul's `retry_join`: keep trying the seeds, round after round with
 * exponential backoff (1 s, 2 s, 4 s ... up to `intervalMs`), resolving their names again every
 * round, until one answers, `max` rounds failed (0: forever) or the signal aborts.
 */
import { JoinError, type SeedFailure } from '../errors.js';
import type { Address } from '../wire/messages.js';
import type { AgentNode } from './types.js';

export interface RetryJoinOptions {
  /** The longest wait between two rounds, in ms. @default 30000 */
  readonly intervalMs?: number;
  /** Rounds before giving up; 0 tries forever. @default 0 */
  readonly max?: number;
  /** The first wait, in ms (doubling each round up to intervalMs). @default 1000 */
  readonly firstDelayMs?: number;
  /** Stops retrying (the promise rejects with the signal's reason). */
  readonly signal?: AbortSignal;
  /** Called after every failed round with its failures and the wait before the next. */
  readonly onRetry?: (round: number, failures: readonly SeedFailure[], nextInMs: number) => void;
}

export const RETRY_JOIN_DEFAULTS = Object.freeze({ intervalMs: 30_000, max: 0, firstDelayMs: 1000 });

/**
 * Resolves with the number of addresses that answered in the round that succeeded; rejects with
 * the last round's JoinError after `max` failed rounds, or when the signal aborts.
 */
export async function retryJoin(agent: Pick<AgentNode, 'join'>, seeds: readonly (string | Address)[], options: RetryJoinOptions = {}): Promise<number> {
  const intervalMs = options.intervalMs ?? RETRY_JOIN_DEFAULTS.intervalMs;
  const max = options.max ?? RETRY_JOIN_DEFAULTS.max;
  let delay = Math.min(options.firstDelayMs ?? RETRY_JOIN_DEFAULTS.firstDelayMs, intervalMs);
  for (let round = 1; ; round++) {
    options.signal?.throwIfAborted();
    try {
      return await agent.join(seeds, { attempts: 1 });
    } catch (err) {
      if (!(err instanceof JoinError) || (max > 0 && round >= max)) throw err;
      options.onRetry?.(round, err.failures, delay);
    }
    await sleep(delay, options.signal);
    delay = Math.min(delay * 2, intervalMs);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    timer.unref();
    function done(): void {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort(): void {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
