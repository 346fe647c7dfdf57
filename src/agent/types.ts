/**
 * The agent's public shape: what `createAgent(options)` returns and takes. The runtime
 * (agent.ts) drives the sans-I/O Membership with real timers and the transport/ sockets.
 */
import type { Logger } from 'pino';
import type { AgentLimits, AgentSecurityOptions } from '../security/options.js';
import type { MembershipOptions, ProfileName } from '../membership/options.js';
import type { MemberView, MembershipEvent } from '../membership/types.js';
import type { Address, MemberStatus } from '../wire/messages.js';

export interface AgentOptions {
  /** Unique node name. @default the host name plus a short random suffix */
  readonly name?: string;
  /** Where the UDP and TCP listeners bind. Port 0 picks a free port. @default { host: '127.0.0.1', port: 7946 } */
  readonly bind?: Address;
  /** The address other members use to reach this node (NAT, containers). @default the bound address */
  readonly advertise?: Address;
  /** Timing profile. @default 'lan' */
  readonly profile?: ProfileName;
  /** Membership option overrides over the profile. */
  readonly membership?: Partial<MembershipOptions>;
  /** Node tags, spread with the node's state. @default {} */
  readonly tags?: Readonly<Record<string, string>>;
  /** Directory for the peer snapshot (rejoin without seeds after a restart) and the last incarnation. */
  readonly dataDir?: string;
  /** A pino logger; the agent makes a child per component. @default a silent logger */
  readonly logger?: Logger;
  /** TCP connect timeout for push-pull and stream probes, in ms. @default 5000 */
  readonly tcpConnectTimeoutMs?: number;
  /** TCP read timeout (whole message) for push-pull and stream probes, in ms. @default 10000 */
  readonly tcpReadTimeoutMs?: number;
  /**
   * With a data dir holding a snapshot: rejoin through the snapshot's peers when join() has not
   * been called within `autoRejoinDelayMs` of start(). Off, call rejoin() yourself. @default true
   */
  readonly autoRejoin?: boolean;
  /** How long start() waits for a join() before rejoining from the snapshot, in ms. @default 1000 */
  readonly autoRejoinDelayMs?: number;
  /** How often the data-dir snapshot is written when it changed, in ms. @default 5000 */
  readonly snapshotIntervalMs?: number;
  /**
   * Warn at most this often per peer that TCP probes succeed where UDP probes fail (a firewall
   * blocking UDP, or a wrong advertise address), in ms. @default 60000
   */
  readonly udpWarningIntervalMs?: number;
  /** Encryption (AES-256-GCM keyring), cluster label and transition mode (SECURITY.md). @default no encryption, no label */
  readonly security?: AgentSecurityOptions;
  /** Limits on what peers may send: datagram size, inbound connections, bytes per connection. */
  readonly limits?: AgentLimits;
}

/** Where an agent is in its life. */
export type AgentState = 'created' | 'starting' | 'running' | 'leaving' | 'closed';

export interface JoinOptions {
  /** Attempts per seed, with exponential backoff between them. @default 3 */
  readonly attempts?: number;
  /** First backoff delay in ms (doubles each attempt). @default 500 */
  readonly backoffMs?: number;
  /** Give up on a seed after this long in total, in ms. @default 10000 */
  readonly timeoutMs?: number;
}

export interface LeaveOptions {
  /** How long to wait for the leave to be disseminated before closing anyway, in ms. @default 5000 */
  readonly timeoutMs?: number;
}

/** A member as the HTTP API and `hearsay members` show it. */
export interface MemberInfo {
  readonly name: string;
  readonly addr: string;
  readonly port: number;
  readonly status: MemberStatus;
  readonly incarnation: number;
  readonly tags: Readonly<Record<string, string>>;
}

/** Events the agent emits: membership events plus its own lifecycle. */
export type AgentEvent = MembershipEvent;

/** Counters exposed on /metrics (Prometheus) and `agent.counters()`. */
export type AgentCounters = Readonly<Record<string, number>>;

export interface Agent {
  readonly name: string;
  /** The advertised address (with the real port once started). */
  readonly address: Address;
  /** The address the listeners are bound to (with the real port once started). */
  readonly bindAddress: Address;
  /** This node's current incarnation. */
  readonly incarnation: number;
  readonly state: AgentState;
  /** Binds the sockets and starts the protocol. Resolves once listening. */
  start(): Promise<void>;
  /**
   * Joins through the seeds (HOST:PORT or Address). Resolves with the number of seeds that
   * answered; rejects with a JoinError listing each seed's failure when none did.
   */
  join(seeds: readonly (string | Address)[], options?: JoinOptions): Promise<number>;
  /**
   * Joins through the peers of the data-dir snapshot read at creation. Resolves with the number
   * that answered (0 when there is no snapshot or it lists no peers); rejects with a JoinError
   * when none did.
   */
  rejoin(options?: JoinOptions): Promise<number>;
  /** Spreads `left` and waits (up to timeoutMs) for it to go out, then closes. */
  leave(options?: LeaveOptions): Promise<void>;
  /** Stops timers and sockets. Idempotent. */
  close(): Promise<void>;
  members(): MemberInfo[];
  /** Every entry including tombstones, with full detail. */
  memberViews(): MemberView[];
  setTags(tags: Readonly<Record<string, string>>): void;
  counters(): AgentCounters;
  on(event: 'event', listener: (event: AgentEvent) => void): this;
  off(event: 'event', listener: (event: AgentEvent) => void): this;
  /** Events as an async iterator; ends when the signal aborts or the agent closes. */
  events(options?: { signal?: AbortSignal }): AsyncIterableIterator<AgentEvent>;
  [Symbol.asyncDispose](): Promise<void>;
}
