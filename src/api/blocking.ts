/**
 * Blocking queries, shared by hearsay's GET /v1/services/:name?index= and every Consul read:
 * the slots they hold (at most `maxBlockingQueries` open at once, across all routes), and the wait
 * itself, which ends once the watched set's index differs from the one the client saw, the wait
 * elapses, the client goes away or the server closes.
 *
 * An index is a function of the agent's state (a registry modify index, or a sum of monotonic
 * counters); it is recomputed on every agent event, so a wait needs no bookkeeping of its own.
 */
import type { IncomingMessage } from 'node:http';
import type { AgentEvent, AgentEvents } from '../agent/types.js';
import { API_ERROR_CODES, ApiError } from './errors.js';

/** The blocking queries open now, bounded. */
export class BlockingSlots {
  private open = 0;
  constructor(private readonly max: number) {}

  get inUse(): number {
    return this.open;
  }

  /** Runs `wait` in a slot; 503 (with `headers`) when every slot is taken. */
  async hold(wait: () => Promise<void>, headers: Readonly<Record<string, string>> = {}): Promise<void> {
    if (this.open >= this.max) {
      throw new ApiError(503, API_ERROR_CODES.tooManyQueries, `already ${this.open} blocking queries open: retry later or without index`, headers);
    }
    this.open++;
    try {
      await wait();
    } finally {
      this.open--;
    }
  }
}

/** Resolves once `index()` differs from `seen`, `waitMs` elapses, the client goes away or the server closes. */
export function waitForIndex(
  agent: Pick<AgentEvents, 'on' | 'off'>,
  index: () => number,
  seen: number,
  waitMs: number,
  req: IncomingMessage,
  onClose: (fn: () => void) => () => void,
  changed: (event: AgentEvent) => boolean = () => index() !== seen,
): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    let cancel: () => void = () => {};
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      agent.off('event', listener);
      req.socket.off('close', finish);
      cancel();
      resolve();
    };
    const listener = (event: AgentEvent): void => {
      if (changed(event)) finish();
    };
    const timer = setTimeout(finish, waitMs);
    timer.unref();
    agent.on('event', listener);
    req.socket.once('close', finish);
    cancel = onClose(finish);
    if (index() !== seen) finish();
  });
}
