/**
 * The agent's driver of the sans-I/O core, the twin of sim/world.ts: it feeds the Membership real
 * time, real timers and real sockets, and carries out the effects it returns.
 *
 * - Time: `now()` is `Math.round(performance.now())` (monotonic). A 'schedule' effect becomes an
 *   unref'd setTimeout; a stale timer is a no-op in the core, so none is cancelled except on close.
 * - Packets: datagrams and stream frames go to `handlePacket`. A frame that arrived on an accepted
 *   connection is handed in with a fresh Address object for that connection; every stream send of
 *   that call addressed to exactly that object is written back on the same connection (push-pull
 *   answers, stream-probe acks). Any other stream send dials `to`, writes the frame and feeds the
 *   frames read back to `handlePacket` with `from` = the dialed address.
 * - Events and reports: 'emit' effects go to `onEvent`, 'report' effects to `onReport`, in the
 *   order the core produced them.
 * - The answer first: the effects of a stream frame (a push-pull, a state exchange: the inputs
 *   that bring or answer with a whole table) that only tell or start something, its events and
 *   the stream exchanges it starts, wait for the next turn of the event loop (setImmediate), while
 *   its replies on the connection, datagrams and timers go out at once, and a join's completion is
 *   told to `onAnswered` at once. So the answer to a join (the seed's reply; the joiner's
 *   `join()`, and the HTTP answer behind it, which run in this turn's microtasks) is not behind
 *   one event per member of the mesh for every listener, nor the joiner's state exchange dial.
 *   Events stay in the core's order: while any wait, later ones queue behind them.
 */
import type { Logger } from '../log/logger.js';
import type { Membership } from '../membership/membership.js';
import type { Channel, Effect, MembershipEvent, Report, Timer } from '../membership/types.js';
import { formatHostPort } from '../transport/address.js';
import type { DialResult } from '../transport/transport.js';
import type { Address } from '../wire/messages.js';

/** Monotonic milliseconds, the clock every core input is given. */
export const now = (): number => Math.round(performance.now());

/** What the runtime needs of the sockets (SecureTransport). */
export interface RuntimeTransport {
  sendDatagram(to: Address, packet: Uint8Array): void;
  dial(to: Address, frame: Uint8Array, onFrame: (frame: Uint8Array) => void): Promise<DialResult>;
}

export interface RuntimeHandlers {
  readonly onEvent: (event: MembershipEvent) => void;
  readonly onReport: (report: Report) => void;
  /** A join exchange completed (`push-pull-complete` with `join`), told before its events are delivered. */
  readonly onAnswered?: (peer: Address) => void;
  /** Whether packets and timers still reach the core (running, or leaving: the leave must get out). */
  readonly live: () => boolean;
}

/** A stream exchange the effects started: where to, and how it ended. */
export interface Dial {
  readonly to: Address;
  readonly result: Promise<DialResult>;
}

export class CoreRuntime {
  /** The core being driven; replaced once at start (the real one needs the bound port). */
  core: Membership;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sleepers = new Set<() => void>();
  private closed = false;
  /** Effects waiting for the next turn (events and dials of stream frames), in the core's order. */
  private later: Effect[] = [];
  private laterScheduled = false;

  constructor(
    core: Membership,
    private readonly transport: RuntimeTransport,
    private readonly handlers: RuntimeHandlers,
    private readonly log: Logger,
  ) {
    this.core = core;
  }

  /** Runs one core input at the current time and carries out its effects; returns the dials started. */
  run(input: (core: Membership, now: number) => Effect[]): Dial[] {
    return this.apply(input(this.core, now()));
  }

  /** A packet from the network; `reply` answers on the connection a stream frame came in on. */
  receive(from: Address, packet: Uint8Array, channel: Channel, reply?: (frame: Uint8Array) => void): void {
    if (!this.handlers.live()) return;
    this.apply(this.core.handlePacket(from, packet, channel, now()), reply === undefined ? undefined : { to: from, reply }, channel === 'stream');
  }

  private apply(effects: readonly Effect[], answer?: { readonly to: Address; readonly reply: (frame: Uint8Array) => void }, deferrable = false): Dial[] {
    const dials: Dial[] = [];
    for (const e of effects) {
      switch (e.type) {
        case 'send':
          if (e.channel === 'datagram') this.transport.sendDatagram(e.to, e.packet);
          else if (answer !== undefined && e.to === answer.to) answer.reply(e.packet);
          else if (deferrable) this.defer(e);
          else dials.push(this.dial(e.to, e.packet));
          break;
        case 'schedule':
          this.schedule(e.timer, e.delayMs);
          break;
        case 'emit':
          if (e.event.type === 'push-pull-complete' && e.event.join) this.handlers.onAnswered?.(e.event.peer);
          if (deferrable || this.later.length > 0) this.defer(e);
          else this.handlers.onEvent(e.event);
          break;
        case 'report':
          this.handlers.onReport(e.report);
          break;
      }
    }
    return dials;
  }

  private defer(e: Effect): void {
    this.later.push(e);
    if (this.laterScheduled) return;
    this.laterScheduled = true;
    setImmediate(() => this.runLater());
  }

  /** Delivers the effects that waited for this turn, in order (also at close: no event is lost). */
  private runLater(): void {
    this.laterScheduled = false;
    const batch = this.later;
    this.later = [];
    for (const e of batch) {
      if (e.type === 'emit') this.handlers.onEvent(e.event);
      else if (e.type === 'send' && !this.closed) this.dial(e.to, e.packet);
    }
  }

  private dial(to: Address, packet: Uint8Array): Dial {
    const result = this.transport.dial(to, packet, (frame) => this.receive(to, frame, 'stream'));
    void result.then((r) => {
      if (r.ok) return;
      this.log.debug({ to: formatHostPort(to), reason: r.reason, err: r.message }, 'stream exchange failed');
      // Nothing listens there: the core may suspect a member whose probe is in flight at once.
      if (r.reason === 'connect-refused' && this.handlers.live()) this.run((core, t) => core.handleStreamRefused(to, t));
    });
    return { to, result };
  }

  private schedule(timer: Timer, delayMs: number): void {
    if (!this.handlers.live()) return;
    this.after(delayMs, () => {
      if (this.handlers.live()) this.run((core, t) => core.handleTimer(timer, t));
    });
  }

  /** Calls `fn` after `ms` unless the runtime closes first; returns a cancel function. */
  after(ms: number, fn: () => void): () => void {
    if (this.closed) return () => {};
    const handle = setTimeout(() => {
      this.timers.delete(handle);
      fn();
    }, ms);
    handle.unref();
    this.timers.add(handle);
    return () => {
      clearTimeout(handle);
      this.timers.delete(handle);
    };
  }

  /** Waits `ms`, or less when the runtime closes (a sleeping join must still finish). */
  sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        cancel();
        this.sleepers.delete(wake);
        resolve();
      };
      const cancel = this.after(ms, wake);
      this.sleepers.add(wake);
    });
  }

  /** The hosts of alive and suspect members, rebuilt at most once a second. */
  private peerHosts = { at: Number.NEGATIVE_INFINITY, hosts: new Set<string>() };

  /** Whether `host` is the address of an alive or suspect member (the transport's reserved slots). */
  isPeerHost(host: string): boolean {
    const t = now();
    if (t - this.peerHosts.at > 1000) {
      const hosts = new Set<string>();
      for (const v of this.core.members()) if (v.status === 'alive' || v.status === 'suspect') hosts.add(v.host);
      this.peerHosts = { at: t, hosts };
    }
    return this.peerHosts.hosts.has(host);
  }

  /** Cancels every timer and wakes every sleeper. Idempotent. */
  close(): void {
    this.closed = true;
    this.runLater();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const wake of [...this.sleepers]) wake();
  }
}
