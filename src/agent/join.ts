/**
 * Joining through seeds: one full-state exchange (push-pull) per seed, retried with exponential
 * backoff within a deadline. A seed has answered when the core reports `push-pull-complete` for
 * the join from that address; it has failed when the dial fails, when the connection closes
 * without an answer, or when the deadline passes. join() resolves with how many seeds answered
 * and rejects with a JoinError listing each seed's last failure when none did.
 */
import type { Logger } from '../log/logger.js';
import { JoinError, type SeedFailure } from '../errors.js';
import { addressKey } from '../transport/address.js';
import type { Address } from '../wire/messages.js';
import { AGENT_DEFAULTS } from './defaults.js';
import { now, type CoreRuntime } from './runtime.js';
import { targetLabel, type JoinTarget } from './seeds.js';
import type { JoinOptions } from './types.js';

type JoinOutcome = { ok: true } | { ok: false; reason: string; errno?: string };

interface JoinWaiter {
  readonly key: string;
  readonly settle: (outcome: JoinOutcome) => void;
}

const NO_ANSWER =
  'the peer closed the connection without answering the join (if it is a hearsay agent, it may use another encryption key or cluster label: check --key and --label)';

export class Joiner {
  /** Join attempts made (every seed, every retry). */
  attempts = 0;
  private readonly waiters = new Set<JoinWaiter>();

  constructor(
    private readonly runtime: CoreRuntime,
    private readonly log: Logger,
    /** True once the agent is closing: no new attempt starts. */
    private readonly closed: () => boolean,
  ) {}

  /** The core finished a join exchange with `peer`: that seed answered. */
  answered(peer: Address): void {
    const key = addressKey(peer);
    for (const w of [...this.waiters]) if (w.key === key) w.settle({ ok: true });
  }

  /**
   * Joins through every target; `unresolved` are seeds that resolved to nothing (reported with the
   * targets' failures when none answers).
   */
  async join(targets: readonly JoinTarget[], unresolved: readonly SeedFailure[], options: JoinOptions): Promise<number> {
    if (targets.length === 0) throw new JoinError(unresolved);
    const d = AGENT_DEFAULTS.join;
    const attempts = Math.max(1, Math.floor(options.attempts ?? d.attempts));
    const backoffMs = Math.max(0, options.backoffMs ?? d.backoffMs);
    const timeoutMs = Math.max(1, options.timeoutMs ?? d.timeoutMs);
    const results = await Promise.all(targets.map((t) => this.joinSeed(t, attempts, backoffMs, timeoutMs)));
    const failures = [...unresolved, ...results.filter((r): r is SeedFailure => r !== null)];
    const answered = results.filter((r) => r === null).length;
    for (const f of failures) this.log.debug({ seed: f.seed, reason: f.reason, attempts: f.attempts }, 'seed did not answer');
    if (answered === 0) throw new JoinError(failures);
    this.log.info({ answered, seeds: targets.length }, 'joined');
    return answered;
  }

  /** Settles every attempt in flight as failed ("the agent was closed"). */
  close(): void {
    for (const w of [...this.waiters]) w.settle({ ok: false, reason: 'the agent was closed' });
  }

  /** Joins through one seed with retries; null when it answered, else its last failure. */
  private async joinSeed(target: JoinTarget, attempts: number, backoffMs: number, timeoutMs: number): Promise<SeedFailure | null> {
    const seed = target.address;
    const deadline = now() + timeoutMs;
    let last: JoinOutcome = { ok: false, reason: 'not attempted' };
    let made = 0;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const remaining = deadline - now();
      if (remaining <= 0 || this.closed()) break;
      made++;
      last = await this.attempt(seed, remaining);
      if (last.ok) return null;
      if (attempt === attempts) break;
      const wait = Math.min(backoffMs * 2 ** (attempt - 1), deadline - now());
      if (wait <= 0) break;
      await this.runtime.sleep(wait);
    }
    if (last.ok) return null;
    if (this.closed()) last = { ok: false, reason: 'the agent was closed' };
    return { seed: targetLabel(target), reason: last.reason, ...(last.errno === undefined ? {} : { errno: last.errno }), attempts: made };
  }

  private attempt(seed: Address, remainingMs: number): Promise<JoinOutcome> {
    this.attempts++;
    return new Promise<JoinOutcome>((resolve) => {
      let settled = false;
      const waiter: JoinWaiter = {
        key: addressKey(seed),
        settle: (outcome) => {
          if (settled) return;
          settled = true;
          cancel();
          this.waiters.delete(waiter);
          resolve(outcome);
        },
      };
      const cancel = this.runtime.after(remainingMs, () => waiter.settle({ ok: false, reason: `no answer within ${Math.round(remainingMs)} ms` }));
      this.waiters.add(waiter);
      if (this.runtime.core.left) {
        waiter.settle({ ok: false, reason: 'this node has left' });
        return;
      }
      const dials = this.runtime.run((core, t) => core.join([seed], t));
      const dial = dials.find((d) => d.to === seed) ?? dials.find((d) => addressKey(d.to) === waiter.key);
      if (dial === undefined) {
        waiter.settle({ ok: false, reason: "it is this agent's own address" });
        return;
      }
      void dial.result.then((r) => {
        if (r.ok) waiter.settle({ ok: false, reason: NO_ANSWER });
        else waiter.settle({ ok: false, reason: r.message, ...(r.errno === undefined ? {} : { errno: r.errno }) });
      });
    });
  }
}
