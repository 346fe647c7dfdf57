/**
 * What the agent logs about the mesh, and at which level: joins, leaves and recoveries at info
 * (what an operator reads), a member's state updates at debug, suspicions, deaths and refutations at warn, name conflicts at error, the rest at
 * debug; the core's reports (a dropped packet at debug, a peer that answers only over TCP at warn,
 * at most once per peer per interval).
 */
import type { Logger } from '../log/logger.js';
import type { Channel, MembershipEvent, Report } from '../membership/types.js';
import { formatHostPort } from '../transport/address.js';
import type { Address } from '../wire/messages.js';

/** Most peers remembered for the UDP warning's rate limit; the memory is cleared beyond it. */
const MAX_WARNED_PEERS = 10_000;

export function logMembershipEvent(log: Logger, event: MembershipEvent): void {
  switch (event.type) {
    case 'member-update':
      // Every service or tag change of every node: at debug, or an operator reads nothing else.
      if (log.isLevelEnabled('debug')) log.debug({ member: event.member.name, addr: formatHostPort(event.member), incarnation: event.member.incarnation }, event.type);
      break;
    case 'member-join':
    case 'member-leave':
    case 'member-alive':
      log.info({ member: event.member.name, addr: formatHostPort(event.member), incarnation: event.member.incarnation }, event.type);
      break;
    case 'member-suspect':
    case 'member-dead':
      log.warn({ member: event.member.name, from: event.from, incarnation: event.member.incarnation }, event.type);
      break;
    case 'member-conflict':
      if (event.lost === true) {
        log.error(
          { member: event.name, holder: formatHostPort(event.holder), incarnation: event.incarnation },
          `another live node at ${formatHostPort(event.holder)} holds the name "${event.name}" and the mesh keeps it: this agent stops; give every node a unique --name`,
        );
        break;
      }
      log.error(
        { member: event.name, holder: formatHostPort(event.holder), other: formatHostPort(event.other), incarnation: event.incarnation },
        'two nodes claim one name: the holder keeps it; give every node a unique --name',
      );
      break;
    case 'self-refute':
      log.warn({ incarnation: event.incarnation, accusedBy: event.accusedBy }, 'refuted a suspicion of this node');
      break;
    default:
      if (log.isLevelEnabled('debug')) log.debug({ event }, event.type);
  }
}

/**
 * Membership events logged one turn after they happen (setImmediate), all of a turn's in one
 * batch, in order. A join's answer brings a line per new member, and the seed logs the joiner
 * before it answers: formatted and written at once, those lines delayed the answer by about
 * 0.07 ms a member (1.4 ms of a cold 11 ms join at N = 20, issue 12 point 3). Deferred, the answer
 * goes out first. Only the log waits: the agent's state, its events and listeners are as before.
 */
export class DeferredEventLog {
  private pending: MembershipEvent[] = [];
  private scheduled = false;

  constructor(
    private readonly log: Logger,
    private readonly schedule: (fn: () => void) => void = (fn) => setImmediate(fn),
  ) {}

  push(event: MembershipEvent): void {
    this.pending.push(event);
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => this.flush());
  }

  /** Logs everything pending now (also at close, so no line is lost). */
  flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    for (const e of batch) logMembershipEvent(this.log, e);
  }
}

/** Logs the core's reports, with the UDP warning's rate limit per peer. */
export class ReportLog {
  readonly counters = { streamProbeAcks: 0, udpWarnings: 0, unsignedWarnings: 0 };
  /** When the UDP warning was last logged, by peer name. */
  private readonly warnedAt = new Map<string, number>();

  constructor(
    private readonly log: Logger,
    private readonly udpWarningIntervalMs: number,
    private readonly now: () => number,
  ) {}

  report(report: Report): void {
    if (report.kind === 'packet-dropped') {
      if (this.log.isLevelEnabled('debug')) {
        const { from, channel, bytes, reason, detail } = report;
        this.log.debug({ from: formatHostPort(from), channel, bytes, reason, ...(detail === undefined ? {} : { detail }) }, 'packet dropped');
      }
      return;
    }
    if (report.kind === 'stream-probe-acked') this.udpBlocked(report.member, report.addr);
    if (report.kind === 'unsigned-dropped') this.unsignedDropped(report.from, report.channel, report.count, report.source);
    // probe-sent and probe-acked are timed by ProbeRtt, not logged.
  }

  /**
   * Identity required here, and a peer sent unsigned records (dropped and counted as
   * identity-unsigned): a node that signs nothing yet, so a rollout step was skipped, and this
   * node does not see what that one says. Warn once per sender per interval, saying what to do.
   */
  private unsignedDropped(from: Address, channel: Channel, count: number, source: string | undefined): void {
    // A stream's source port is its connection's, not the peer's gossip port: key it by host.
    const addr = channel === 'stream' ? from.host : formatHostPort(from);
    if (!this.dueWarning(`unsigned\u0000${source ?? addr}`)) return;
    this.counters.unsignedWarnings++;
    const who = source === undefined ? addr : `${source} (${addr})`;
    this.log.warn(
      { peer: source, addr, records: count },
      `dropped ${count} unsigned record${count === 1 ? '' : 's'} from ${who}: this node requires signed records (--cert without --identity-transition), ` +
        'and that node signs nothing (it runs without --cert, or with --identity-transition send-unsigned), so this node does not see what it says. ' +
        'Restart every node with --identity-transition accept-unsigned before any node requires signatures (SECURITY.md, Turning identity on); ' +
        'if every node signs already, someone holding the cluster key is sending forged records',
    );
  }

  /** Whether a warning keyed `key` is due (none within the warning interval), noting it if so. */
  private dueWarning(key: string): boolean {
    const t = this.now();
    const last = this.warnedAt.get(key);
    if (last !== undefined && t - last < this.udpWarningIntervalMs) return false;
    if (this.warnedAt.size >= MAX_WARNED_PEERS) this.warnedAt.clear();
    this.warnedAt.set(key, t);
    return true;
  }

  /**
   * TCP ping fallback: the datagram probe to this peer timed out, yet it acked over TCP. UDP is
   * probably blocked (a firewall) or one side advertises an address the other cannot reach by UDP.
   * Warn once per peer per interval, as memberlist does.
   */
  private udpBlocked(member: string, to: Address): void {
    this.counters.streamProbeAcks++;
    if (!this.dueWarning(member)) return;
    this.counters.udpWarnings++;
    const peer = formatHostPort(to);
    this.log.warn(
      { peer: member, addr: peer },
      `${member} (${peer}) answered a TCP ping but not the UDP probe before it: UDP between the two nodes is probably blocked ` +
        `(a firewall dropping UDP on port ${to.port}, here or there) or one of you advertises an address the other cannot reach ` +
        'over UDP (check the advertise address); the node is kept alive by TCP, but UDP gossip and failure detection suffer',
    );
  }
}
