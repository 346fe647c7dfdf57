/**
 * Warming the join path once per process, soon after the first agent starts.
 *
 * An agent joins once in its life, so every join is the first run of its code in that process:
 * V8 parses and compiles each function of the path on its first call (seed parsing, the joiner,
 * the runtime, the TCP dial and framing, the push-pull codec, the merge, the event log's
 * formatting) and its inline caches start empty. Measured on real processes (bench/vs-serf.ts,
 * issue 12 point 3), a fresh agent's first join took about 11 ms of CPU at N = 20, spread over
 * every step of that path, against about 3 ms for its second.
 *
 * So WARM_UP_DELAY_MS after start (off the path to a listening, answering API): first throwaway cores, no sockets, merge a synthetic
 * mesh of nine members through the real codec (the merge loop over many records, which one
 * join between two agents would not run); then two throwaway agents on 127.0.0.1 port 0 run one
 * real join over loopback (the joiner, runtime, TCP dial and framing; with the HTTP API, asked
 * through a throwaway API server's POST /v1/join, see warmJoinThrough), logging to a logger that
 * writes nowhere, and close. The real agent is not touched: the throwaway ones have their own
 * sockets, tables, counters and events, no data dir, and live for a few milliseconds. A warm-up
 * that fails (no loopback) costs only that speed.
 */
import { createLogger, type Logger } from '../log/logger.js';
import { Membership } from '../membership/membership.js';
import { LAN } from '../membership/options.js';
import type { Effect, MembershipEvent } from '../membership/types.js';
import { SeededRandom } from '../util/random.js';
import type { Address } from '../wire/messages.js';
import { logMembershipEvent } from './event-log.js';
import type { Agent, AgentOptions } from './types.js';

/**
 * How long after start the warm-up runs, ms: long enough that it does not hold up the agent's
 * first API answers (its ~36 ms of CPU, cold, would sit in front of any request arriving then),
 * short enough to be done before anyone asks an agent to join in practice.
 */
export const WARM_UP_DELAY_MS = 1000;

let started = false;

/**
 * How the throwaway joiner joins: joiner.join(), or, once this process serves the HTTP API, its
 * POST /v1/join on a throwaway server (api/server.ts registers it), so that the route, the body's
 * reading and parsing and the answer run once before the real agent's join does.
 */
let joinVia: ((joiner: Agent, seed: Address) => Promise<void>) | undefined;

/** Makes the warm-up join through `via` (the first one registered is kept). */
export function warmJoinThrough(via: (joiner: Agent, seed: Address) => Promise<void>): void {
  joinVia ??= via;
}

/** Whether this process has begun its warm-up (for tests). */
export function joinPathWarmed(): boolean {
  return started;
}

/**
 * Runs one join between two throwaway agents made by `create`, once per process; later calls
 * do nothing. Never rejects.
 */
export async function warmJoinPath(create: (options: AgentOptions) => Agent): Promise<void> {
  if (started) return;
  started = true;
  const logger = createLogger({ write: () => undefined }, { level: 'info' });
  const made: Agent[] = [];
  try {
    warmCore(logger);
    const options = (name: string): AgentOptions => ({ name, bind: { host: '127.0.0.1', port: 0 }, profile: 'lan', logger, autoRejoin: false });
    const seed = create(options('hearsay-warm-up-seed'));
    made.push(seed);
    const joiner = create(options('hearsay-warm-up-joiner'));
    made.push(joiner);
    await seed.start();
    await joiner.start();
    if (joinVia !== undefined) await joinVia(joiner, seed.address);
    else await joiner.join([seed.address], { attempts: 1, timeoutMs: 2000 });
  } catch {
    // Only the first join's speed depends on it.
  } finally {
    await Promise.all(made.map((a) => a.close().catch(() => undefined)));
  }
}

/** Nine throwaway cores join a tenth one at a time; the last merges all ten records. */
function warmCore(log: Logger): void {
  const random = new SeededRandom(1);
  const t = 0;
  const addr = (i: number): Address => ({ host: '192.0.2.1', port: 10_000 + i });
  const core = (i: number): Membership =>
    new Membership({ name: `hearsay-warm-up-${i}`, addr: addr(i), state: { tags: { role: 'warm-up' }, payload: null }, options: LAN, random: random.fork() });
  const seed = core(0);
  seed.start(t);
  const events: MembershipEvent[] = [];
  const stream = (effects: readonly Effect[], to: Address): Uint8Array | undefined => {
    for (const e of effects) {
      if (e.type === 'emit') events.push(e.event);
      else if (e.type === 'send' && e.channel === 'stream' && e.to.port === to.port) return e.packet;
    }
    return undefined;
  };
  for (let i = 1; i <= 9; i++) {
    const peer = core(i);
    peer.start(t);
    const request = stream(peer.join([addr(0)], t), addr(0));
    if (request === undefined) return;
    const answer = stream(seed.handlePacket(addr(i), request, 'stream', t), addr(i));
    if (answer === undefined) return;
    stream(peer.handlePacket(addr(0), answer, 'stream', t), addr(0));
  }
  for (const e of events) logMembershipEvent(log, e);
}
