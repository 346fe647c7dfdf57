/**
 * The agent's public shape: what `createAgent(options)` returns and takes. The runtime
 * (agent.ts) drives the sans-I/O Membership with real timers and the transport/ sockets.
 */
import type { Logger } from '../log/logger.js';
import type { AgentLimits, AgentSecurityOptions } from '../security/options.js';
import type { MembershipOptions, ProfileName } from '../membership/options.js';
import type { MemberView, MembershipEvent } from '../membership/types.js';
import type { Address, MemberStatus } from '../wire/messages.js';
import type { CheckInfo, CheckStatus, LocalService, ServiceDefinition } from '../registry/local.js';
import type { LookupOptions, ServiceInstance, ServiceSummary, ServiceWatchUpdate } from '../registry/types.js';
import type { HistogramSnapshot } from '../util/histogram.js';
import type { PickOptions, ServiceEvent, WatchOptions } from './services.js';
import type { SeedResolver } from './seeds.js';
import type { NodeIdentity } from '../identity/identity.js';
import type { RevocationList } from '../identity/revocations.js';
import type { RevocationAdoption } from './revocations.js';
import type { IdentityTransition } from '../membership/authenticator.js';

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
  /** A logger (a pino logger, or anything with the shape of `Logger`); the agent makes a child per component. @default a silent logger */
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
  /**
   * Shortest time between two publications of this node's service state (a check flapping faster
   * is coalesced: the latest state goes out at the end of the interval), in ms. @default 1000
   */
  readonly serviceUpdateIntervalMs?: number;
  /**
   * How often a check's output alone is published to the mesh again, in ms (Consul's
   * check_update_interval): other agents show each check of this node's instances, and a change of
   * status spreads at once, but an output that changes on every run (a timestamp, a latency) is
   * sent at most this often. @default 300000
   */
  readonly checkOutputIntervalMs?: number;
  /**
   * Most service instances this agent may register (each is an entry of its state, and a second
   * small one for its status once that changes, spread as deltas: no longer bounded by one datagram). A registration over it fails with
   * HEARSAY_ERR_SERVICE_LIMIT naming this limit. At most 2048. @default 1000
   */
  readonly maxInstancesPerNode?: number;
  /**
   * Most bytes one instance may take in the node's state (its key `i:<id>` and its encoded id,
   * name, address, port, status, tags and meta). A registration over it fails with
   * HEARSAY_ERR_SERVICE_LIMIT naming this limit. 64 to 16384. @default 4096
   */
  readonly maxInstanceBytes?: number;
  /** Encryption (AES-256-GCM keyring), cluster label and transition mode (SECURITY.md). @default no encryption, no label */
  readonly security?: AgentSecurityOptions;
  /**
   * This node's certificate identity (identity/identity.ts loadIdentity): its node name must be
   * `name` (which defaults to it), and registrations of services it does not allow are refused
   * with ServiceNotAllowedError. @default none: any service may be registered
   */
  readonly identity?: NodeIdentity;
  /**
   * With `identity`: the transition step for signed records on the wire (membership/authenticator.ts,
   * SECURITY.md "Turning identity on"). @default 'off': records are signed and unsigned ones dropped
   */
  readonly identityTransition?: IdentityTransition;
  /**
   * With `identity`: where a newer revocation list this node adopts (from a peer, or
   * putRevocations()) is written, through a temporary file and a rename, so that a restart keeps
   * it: `hearsay agent` gives its --revocations file. @default `revocations.json` in `dataDir`
   * (read back at the next start); without either, the list is held in memory only
   */
  readonly revocationsFile?: string;
  /** Limits on what peers may send: datagram size, inbound connections, bytes per connection. */
  readonly limits?: AgentLimits;
  /**
   * How join() resolves seed names (A/AAAA, and `dns+srv:` SRV names).
   * @default the system resolver (getaddrinfo for names, the configured DNS servers for SRV)
   */
  readonly seedResolver?: SeedResolver;
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

/** Events the agent emits: membership events and service events. */
/**
 * What the agent publishes: membership's events (but not its internal 'state-update', the state
 * layer's entries, which the agent's registry reads and shows as 'service-change') and the service events.
 */
export type AgentEvent = Exclude<MembershipEvent, { readonly type: 'state-update' }> | ServiceEvent;

/** Counters exposed on /metrics (Prometheus) and `agent.counters()`. */
export type AgentCounters = Readonly<Record<string, number>>;

/** Histograms exposed on /metrics, by catalog key (`probeRtt.direct`, ...): bounds, cumulative counts, sum, count. */
export type AgentHistograms = Readonly<Record<string, HistogramSnapshot>>;

/**
 * The agent as a node of the mesh: identity, lifecycle, membership and counters. The Agent is this,
 * AgentServices and AgentEvents; a consumer (the HTTP routes, the DNS server, a test fake) takes only
 * the parts it uses.
 */
export interface AgentNode {
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
   * Joins through the seeds: `HOST:PORT` (an IP, or a name: every A and AAAA record of it),
   * `dns+srv:NAME` (every SRV target) or an Address. Names are resolved on every call. Resolves
   * with the number of addresses that answered, once their answers are merged (members() lists
   * the mesh they brought), before the events of that merge reach listeners: those follow on the
   * event loop's next turn. Rejects with a JoinError listing each failure when none did.
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
  /**
   * A number that changes whenever members() would answer differently (an entry added, removed
   * or reordered, or its status, incarnation, address or tags changed), so that a caller showing
   * the list may keep what it made of it until then (the HTTP API keeps its encoded answer).
   */
  membersVersion(): number;
  /** Every entry including tombstones, with full detail. */
  memberViews(): MemberView[];
  setTags(tags: Readonly<Record<string, string>>): void;
  /** The certificate identity this node runs with (AgentOptions.identity, or the latest setIdentity()), if any. */
  readonly identity: NodeIdentity | undefined;
  /**
   * Replaces the identity with a renewed certificate, without a restart. Throws IdentityError
   * (and keeps the current one) when it is for another node or does not allow a service this
   * node has registered.
   */
  setIdentity(identity: NodeIdentity): void;
  /** The CA-signed revocation list in force (the identity's, or a newer one adopted since), if any. */
  readonly revocations: RevocationList | undefined;
  /**
   * Puts a newer revocation list (its JSON, as `hearsay ca revoke` writes it) in force here; it
   * then spreads to every node (SECURITY.md, Revocation). Throws IdentityError for a list that is
   * not the CA's or does not verify, HearsayError HEARSAY_ERR_REVOCATIONS_NOT_NEWER for one not
   * above the version in force, HEARSAY_ERR_IDENTITY_DISABLED without a certificate.
   */
  putRevocations(list: unknown): RevocationAdoption;
  /**
   * Removes a failed (dead or suspect) member from every view now, as Serf's force-leave: it is
   * marked left and the leave is gossiped. Throws UnknownMemberError or MemberAliveError.
   */
  forceLeave(name: string): void;
  counters(): AgentCounters;
  /** Probe round-trip times (seconds) by the path the ack took, as hearsay_probe_rtt_seconds shows them. */
  histograms(): AgentHistograms;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The service registry as the agent offers it: this node's registrations and the mesh's instances. */
export interface AgentServices {
  /**
   * Registers (or, with a known id, replaces) a service instance on this node and starts its
   * checks. Visible to this node's lookups at once and spread through the mesh in this node's
   * state. Throws InvalidServiceError (every problem listed) or ServiceTooLargeError (the node's
   * state would not fit one datagram). With `persist` and a data dir, the definition is saved
   * there and registered again when the agent restarts (PUT /v1/services does this). An embedded
   * service registers itself on every start, so it leaves persist off. @default persist false
   */
  register(definition: ServiceDefinition, options?: { persist?: boolean }): ServiceInstance;
  /** Removes an instance of this node; false when it had none with that id. */
  deregister(id: string): boolean;
  /**
   * register() with persist that resolves only once the registration is durable in the data dir
   * (fsynced): what PUT /v1/services does before it answers. When it cannot be saved (a full disk)
   * the change is undone and the promise rejects with PersistError. Without a data dir, as register().
   */
  registerDurably(definition: ServiceDefinition): Promise<ServiceInstance>;
  /** deregister() that resolves once the removal is durable; undone, rejecting with PersistError, when it cannot be saved. */
  deregisterDurably(id: string): Promise<boolean>;
  /**
   * Instances of `name` in the mesh from the local view: passing ones by default, instances on
   * suspect nodes last, none on dead or left nodes. The array is frozen and shared.
   */
  lookup(name: string, options?: LookupOptions): readonly ServiceInstance[];
  /** One passing instance by round-robin (default) or random, preferring alive nodes. */
  pick(name: string, options?: PickOptions): ServiceInstance | undefined;
  /** Every service name in the mesh with its instance counts. */
  services(): ServiceSummary[];
  /** This agent's own registrations with their checks. */
  localServices(): LocalService[];
  /** This agent's checks and their latest status. */
  checks(): CheckInfo[];
  /**
   * The checks of `node`'s instances: this agent's own as checks() gives them; another node's as it
   * last published them (a status change at once, its output cut to 256 bytes and at most once per
   * that node's checkOutputIntervalMs); none for a node this agent holds no state of.
   */
  nodeChecks(node: string): readonly CheckInfo[];
  /** Reports a TTL check's status (pass, warn or fail) and restarts its TTL. */
  updateCheck(checkId: string, status: CheckStatus, note?: string): void;
  /** Maintenance mode for one instance (serviceId) or the whole node. */
  setMaintenance(enable: boolean, options?: { serviceId?: string; reason?: string }): void;
  /** The name's modify index, raised on every change to its instances (1 for an unknown name). */
  serviceIndex(name: string): number;
  /** The highest modify index of any name: raised on every change to any instance in the mesh (what a watch of every service waits on). */
  servicesIndex(): number;
  /** The reason given when the whole node was put in maintenance, or undefined when it is not. */
  nodeMaintenance(): string | undefined;
  /** A snapshot of `name`'s instances, then every change, until the signal aborts or the agent closes. */
  watch(name: string, options?: WatchOptions): AsyncIterableIterator<ServiceWatchUpdate>;
  /** The event form of watch(): `listener` gets the snapshot now and every change; returns a stop function. */
  onServiceChange(name: string, listener: (update: ServiceWatchUpdate) => void, options?: LookupOptions): () => void;
}

/** The agent's events: membership and service changes, in the order they happened. */
export interface AgentEvents {
  on(event: 'event', listener: (event: AgentEvent) => void): this;
  off(event: 'event', listener: (event: AgentEvent) => void): this;
  /** Events as an async iterator; ends when the signal aborts or the agent closes. */
  events(options?: { signal?: AbortSignal }): AsyncIterableIterator<AgentEvent>;
}

export interface Agent extends AgentNode, AgentServices, AgentEvents {}
