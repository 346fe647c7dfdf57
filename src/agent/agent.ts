/**
 * The agent runtime: the sans-I/O Membership driven by real time, real timers and real sockets.
 *
 * - Time: `now` is `Math.round(performance.now())` (monotonic). 'schedule' effects become unref'd
 *   setTimeouts; a stale timer is a no-op in the core, so none is ever cancelled except on close.
 * - Packets: datagrams from the UDP socket and frames from TCP connections go to
 *   `membership.handlePacket`. A stream frame that arrived on an accepted connection is handed in
 *   with a fresh Address object for that connection; every stream send of that call addressed to
 *   exactly that object is written back on the same connection (push-pull answers, stream-probe
 *   acks). Any other stream send dials `to`, writes the frame and feeds the frames read back to
 *   `handlePacket` with `from` = the dialed address.
 * - Events: 'emit' effects go to the listeners ('event') and to every events() iterator, in the
 *   order the core emitted them.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import { AgentClosedError, InvalidAddressError, InvalidOptionsError, JoinError, NotStartedError, type SeedFailure } from '../errors.js';
import { Membership } from '../membership/membership.js';
import { resolveOptions, type ResolvedOptions } from '../membership/options.js';
import type { Effect, MembershipEvent, Report, Timer } from '../membership/types.js';
import type { MemberView } from '../membership/types.js';
import { addressKey, defaultAdvertiseHost, formatHostPort, parseHostPort } from '../transport/address.js';
import type { DialResult } from '../transport/transport.js';
import { KeyManager } from '../security/key-manager.js';
import { resolveSecurity } from '../security/options.js';
import { SecureTransport } from '../security/secure-transport.js';
import { MAX_INCARNATION } from '../wire/codec.js';
import type { Address, MemberState } from '../wire/messages.js';
import { SeededRandom } from '../util/random.js';
import hyperid from 'hyperid';
import { ServiceTooLargeError, StateTooLargeError } from '../errors.js';
import type { CheckInfo, CheckStatus, LocalService, ServiceDefinition } from '../registry/local.js';
import type { LookupOptions, ServiceInstance, ServiceSummary, ServiceWatchUpdate } from '../registry/types.js';
import { ServiceRuntime, type PickOptions, type WatchOptions } from './services.js';
import { makeServicesFile, makeSnapshot, readServices, readSnapshot, SERVICES_FILE, SnapshotWriter, type Snapshot } from './data-dir.js';
import { EventHub } from './events.js';
import type {
  Agent,
  AgentCounters,
  AgentEvent,
  AgentOptions,
  AgentState,
  JoinOptions,
  LeaveOptions,
  MemberInfo,
} from './types.js';

export const DEFAULT_PORT = 7946;
export const AGENT_DEFAULTS = Object.freeze({
  bind: Object.freeze({ host: '127.0.0.1', port: DEFAULT_PORT }),
  profile: 'lan' as const,
  tcpConnectTimeoutMs: 5000,
  tcpReadTimeoutMs: 10_000,
  autoRejoin: true,
  autoRejoinDelayMs: 1000,
  snapshotIntervalMs: 5000,
  udpWarningIntervalMs: 60_000,
  join: Object.freeze({ attempts: 3, backoffMs: 500, timeoutMs: 10_000 }),
  leaveTimeoutMs: 5000,
  serviceUpdateIntervalMs: 1000,
});

/** Creates an agent; nothing touches the network until start(). Throws InvalidOptionsError. */
export function createAgent(options: AgentOptions = {}): Agent {
  return new HearsayAgent(options);
}

type JoinOutcome = { ok: true } | { ok: false; reason: string; errno?: string };

interface JoinWaiter {
  readonly key: string;
  readonly settle: (outcome: JoinOutcome) => void;
}

/** What an apply() call knows about where its effects came from. */
interface ApplyContext {
  /** The connection the packet being handled arrived on, and how to answer on it. */
  readonly replyTo?: Address;
  readonly reply?: (frame: Uint8Array) => void;
}

const now = (): number => Math.round(performance.now());

function validateAgentOptions(o: AgentOptions): string[] {
  const problems: string[] = [];
  const positive = (key: keyof AgentOptions, v: unknown): void => {
    if (v !== undefined && !(Number.isInteger(v) && (v as number) > 0)) {
      problems.push(`${key} must be a positive integer number of milliseconds (got ${JSON.stringify(v)})`);
    }
  };
  positive('tcpConnectTimeoutMs', o.tcpConnectTimeoutMs);
  positive('tcpReadTimeoutMs', o.tcpReadTimeoutMs);
  positive('snapshotIntervalMs', o.snapshotIntervalMs);
  positive('udpWarningIntervalMs', o.udpWarningIntervalMs);
  positive('serviceUpdateIntervalMs', o.serviceUpdateIntervalMs);
  if (o.autoRejoinDelayMs !== undefined && !(Number.isInteger(o.autoRejoinDelayMs) && o.autoRejoinDelayMs >= 0)) {
    problems.push(`autoRejoinDelayMs must be a non-negative integer number of milliseconds (got ${JSON.stringify(o.autoRejoinDelayMs)})`);
  }
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length === 0 || o.name.length > 255)) {
    problems.push(`name must be a non-empty string of at most 255 characters (got ${JSON.stringify(o.name)})`);
  }
  for (const [key, a] of [['bind', o.bind], ['advertise', o.advertise]] as const) {
    if (a === undefined) continue;
    if (typeof a.host !== 'string' || a.host.length === 0 || !Number.isInteger(a.port) || a.port < 0 || a.port > 65_535) {
      problems.push(`${key} must be {host, port} with a port in 0..65535 (got ${JSON.stringify(a)})`);
    }
  }
  if (o.dataDir !== undefined && (typeof o.dataDir !== 'string' || o.dataDir.length === 0)) {
    problems.push('dataDir must be a non-empty path');
  }
  return problems;
}

export class HearsayAgent implements Agent {
  readonly name: string;

  private readonly options: AgentOptions;
  private readonly membershipOptions: ResolvedOptions;
  private readonly log: Logger;
  private readonly transportLog: Logger;
  private readonly dataLog: Logger;
  private readonly random: SeededRandom;
  private readonly hub: EventHub<AgentEvent>;
  private readonly transport: SecureTransport;
  /** Key operations on this node's keyring and across the mesh (security/key-manager.ts). */
  readonly keyManager: KeyManager;
  private membership: Membership;
  private lifecycle: AgentState = 'created';
  private advertised: Address;
  private bound: Address;
  private tags: Readonly<Record<string, string>>;

  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly joinWaiters = new Set<JoinWaiter>();
  private readonly sleepers = new Set<() => void>();
  /** When the UDP misconfiguration warning was last logged, by peer name. */
  private readonly udpWarnedAt = new Map<string, number>();
  private startPromise: Promise<void> | null = null;
  private closePromise: Promise<void> | null = null;
  private leavePromise: Promise<void> | null = null;
  private leaveDone: (() => void) | null = null;
  private leaveDisseminated = false;

  private readonly snapshot: Snapshot | null;
  private readonly registry: ServiceRuntime;
  /** Service definitions saved in the data dir by an earlier run, registered again at start. */
  private readonly savedServices: readonly unknown[];
  private readonly servicesWriter: SnapshotWriter | null;
  private pendingServices: readonly ServiceDefinition[] | null = null;
  private servicesSaving: Promise<void> | null = null;
  private restoring = false;
  private readonly writer: SnapshotWriter | null;
  private snapshotTimer: NodeJS.Timeout | null = null;
  private rejoinTimer: NodeJS.Timeout | null = null;
  private readonly extra = { streamProbeAcks: 0, udpWarnings: 0, joinAttempts: 0, snapshotWrites: 0, snapshotErrors: 0 };

  constructor(options: AgentOptions) {
    const problems = validateAgentOptions(options);
    let membershipOptions: ResolvedOptions | null = null;
    try {
      membershipOptions = resolveOptions(options.membership ?? {}, options.profile ?? AGENT_DEFAULTS.profile);
    } catch (err) {
      if (err instanceof InvalidOptionsError) problems.push(...err.problems);
      else throw err;
    }
    const security = membershipOptions === null ? null : resolveSecurity(options.security, options.limits, membershipOptions, problems);
    if (problems.length > 0 || membershipOptions === null || security === null) throw new InvalidOptionsError(problems);
    this.options = options;
    // The datagram and stream budgets cover the envelope (label, nonce, tag): the core packs into the rest.
    const overhead = security.envelope.overheadBytes;
    this.membershipOptions =
      overhead === 0
        ? membershipOptions
        : Object.freeze({ ...membershipOptions, maxPacketBytes: membershipOptions.maxPacketBytes - overhead, maxStreamBytes: membershipOptions.maxStreamBytes - overhead });

    const base = options.logger ?? pino({ level: 'silent' });
    const read = options.dataDir === undefined ? null : readSnapshot(options.dataDir);
    this.snapshot = read?.kind === 'ok' ? read.snapshot : null;
    this.name = options.name ?? this.snapshot?.name ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
    const root = base.child({ node: this.name });
    this.log = root.child({ component: 'agent' });
    this.transportLog = root.child({ component: 'transport' });
    this.dataLog = root.child({ component: 'data-dir' });
    if (read?.kind === 'invalid') this.dataLog.warn({ path: read.path, problem: read.problem }, 'ignoring an unreadable data-dir snapshot');
    if (this.snapshot !== null && this.snapshot.name !== this.name) {
      this.dataLog.warn(
        { snapshotName: this.snapshot.name },
        'the data-dir snapshot was written by another node name: using its peers but not its incarnation',
      );
    }
    this.writer = options.dataDir === undefined ? null : new SnapshotWriter(options.dataDir);
    this.servicesWriter = options.dataDir === undefined ? null : new SnapshotWriter(options.dataDir, SERVICES_FILE);
    const saved = options.dataDir === undefined ? ({ kind: 'none' } as const) : readServices(options.dataDir);
    if (saved.kind === 'invalid') this.dataLog.warn({ path: saved.path, problem: saved.problem }, 'ignoring an unreadable saved-services file');
    this.savedServices = saved.kind === 'ok' ? saved.services : [];

    this.random = new SeededRandom(randomBytes(6).readUIntBE(0, 6));
    this.hub = new EventHub<AgentEvent>({ onListenerError: (err) => this.log.error({ err }, 'an event listener threw') });
    this.tags = Object.freeze({ ...(options.tags ?? {}) });
    this.bound = { ...(options.bind ?? AGENT_DEFAULTS.bind) };
    this.advertised = { ...(options.advertise ?? this.bound) };
    const ids = hyperid({ urlSafe: true });
    this.registry = new ServiceRuntime(
      {
        nodeName: this.name,
        advertiseHost: () => this.advertised.host,
        checkPayload: (payload, what) => {
          try {
            this.membership.checkStateSize({ tags: this.tags, payload });
          } catch (err) {
            if (err instanceof StateTooLargeError) throw new ServiceTooLargeError(what, err.encodedBytes, err.limitBytes);
            throw err;
          }
        },
        publish: (payload) => this.publishPayload(payload),
        persist: (definitions) => this.saveServices(definitions),
        freshId: () => ids(),
        now,
        random: this.random.fork(),
        emit: (event) => this.hub.publish(event),
        log: root.child({ component: 'services' }),
      },
      options.serviceUpdateIntervalMs ?? AGENT_DEFAULTS.serviceUpdateIntervalMs,
    );
    // A provisional core (the real one needs the bound port): validates the tags now, and answers
    // members() and counters() before start().
    this.membership = this.makeMembership(this.advertised);
    this.transport = new SecureTransport(
      {
        bind: this.bound,
        connectTimeoutMs: options.tcpConnectTimeoutMs ?? AGENT_DEFAULTS.tcpConnectTimeoutMs,
        readTimeoutMs: options.tcpReadTimeoutMs ?? AGENT_DEFAULTS.tcpReadTimeoutMs,
        maxStreamBytes: membershipOptions.maxStreamBytes,
        logger: this.transportLog,
        envelope: security.envelope,
        maxDatagramBytes: security.maxDatagramBytes,
        maxInboundConnections: security.maxInboundConnections,
        maxOutboundConnections: security.maxOutboundConnections,
        maxConnectionBytes: security.maxConnectionBytes,
      },
      {
        onDatagram: (from, packet) => this.onDatagram(from, packet),
        onStreamFrame: (from, frame, reply) => this.onInboundFrame(from, frame, reply),
      },
    );
    this.keyManager = new KeyManager(
      security.keyring,
      this.name,
      () => this.membership.members().filter((v) => v.status === 'alive' || v.status === 'suspect').map((v) => ({ name: v.name, addr: { host: v.host, port: v.port } })),
      (to, request) => this.transport.dialControl(to, request),
      { ...(security.keyringFile === undefined ? {} : { keyringFile: security.keyringFile }), writeNow: security.createFile, logger: root.child({ component: 'keys' }) },
    );
    this.transport.onControl((_from, request, reply) => {
      if (this.live) reply(this.keyManager.handleRemote(request));
    });
  }

  // ---------------------------------------------------------------- queries

  get address(): Address {
    return this.advertised;
  }

  get bindAddress(): Address {
    return this.bound;
  }

  get incarnation(): number {
    return this.membership.incarnation;
  }

  get state(): AgentState {
    return this.lifecycle;
  }

  members(): MemberInfo[] {
    return this.membership.members().map((v) => ({
      name: v.name,
      addr: v.host,
      port: v.port,
      status: v.status,
      incarnation: v.incarnation,
      tags: v.state.tags,
    }));
  }

  memberViews(): MemberView[] {
    return this.membership.members();
  }

  counters(): AgentCounters {
    const out: Record<string, number> = { ...this.membership.counters, ...this.transport.counterValues() };
    out['agent.streamProbeAcks'] = this.extra.streamProbeAcks;
    out['agent.udpWarnings'] = this.extra.udpWarnings;
    out['agent.joinAttempts'] = this.extra.joinAttempts;
    out['agent.snapshotWrites'] = this.extra.snapshotWrites;
    out['agent.snapshotErrors'] = this.extra.snapshotErrors;
    out['agent.eventsDropped'] = this.hub.dropped;
    out['members.active'] = this.membership.activeCount;
    out['members.total'] = this.membership.size;
    out['healthScore'] = this.membership.healthScore;
    out['services.local'] = this.registry.local.size;
    out['services.indexed'] = this.registry.index.size;
    out['services.publishes'] = this.registry.counters.publishes;
    out['services.publishesCoalesced'] = this.registry.counters.publishesCoalesced;
    out['services.checkRuns'] = this.registry.counters.checkRuns;
    out['services.deregisteredCritical'] = this.registry.counters.deregisteredCritical;
    out['dropped.service-payload'] = this.registry.index.counters.invalidPayloads;
    return out;
  }

  // ---------------------------------------------------------------- events

  on(event: 'event', listener: (event: AgentEvent) => void): this {
    if (event === 'event') this.hub.on(listener);
    return this;
  }

  off(event: 'event', listener: (event: AgentEvent) => void): this {
    if (event === 'event') this.hub.off(listener);
    return this;
  }

  events(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<AgentEvent> {
    return this.hub.iterate(options.signal);
  }

  // ---------------------------------------------------------------- lifecycle

  start(): Promise<void> {
    if (this.lifecycle === 'closed' || this.lifecycle === 'leaving') return Promise.reject(new AgentClosedError('start'));
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    this.lifecycle = 'starting';
    try {
      if (this.writer !== null) await this.writer.prepare();
      const bound = await this.transport.listen();
      this.bound = bound;
      const adv = this.options.advertise;
      this.advertised =
        adv === undefined
          ? { host: defaultAdvertiseHost(bound.host), port: bound.port }
          : { host: adv.host, port: adv.port === 0 ? bound.port : adv.port };
    } catch (err) {
      await this.transport.close();
      this.lifecycle = 'closed';
      this.hub.close();
      throw err;
    }
    if (this.isClosed()) {
      await this.transport.close();
      throw new AgentClosedError('start');
    }
    this.restoreSavedServices();
    this.membership = this.makeMembership(this.advertised);
    this.lifecycle = 'running';
    this.registry.refreshSelf();
    this.log.info(
      {
        bind: formatHostPort(this.bound),
        advertise: formatHostPort(this.advertised),
        incarnation: this.membership.incarnation,
      },
      'agent started',
    );
    this.apply(this.membership.start(now()));
    if (this.writer !== null) {
      const every = this.options.snapshotIntervalMs ?? AGENT_DEFAULTS.snapshotIntervalMs;
      this.snapshotTimer = setInterval(() => void this.saveSnapshot(), every);
      this.snapshotTimer.unref();
    }
    if (this.snapshot !== null && this.snapshot.peers.length > 0 && (this.options.autoRejoin ?? AGENT_DEFAULTS.autoRejoin)) {
      this.rejoinTimer = setTimeout(() => {
        this.rejoinTimer = null;
        this.rejoin().then(
          (n) => this.log.info({ answered: n }, 'rejoined through the data-dir snapshot'),
          (err: unknown) => this.log.warn({ err }, 'could not rejoin through the data-dir snapshot; call join() with seeds'),
        );
      }, this.options.autoRejoinDelayMs ?? AGENT_DEFAULTS.autoRejoinDelayMs);
      this.rejoinTimer.unref();
    }
  }

  private makeMembership(addr: Address): Membership {
    const snap = this.snapshot;
    const incarnation = snap !== null && snap.name === this.name ? Math.min(MAX_INCARNATION, snap.incarnation + 1) : 0;
    return new Membership({
      name: this.name,
      addr,
      state: { tags: this.tags, payload: this.registry.payload },
      incarnation,
      options: this.membershipOptions,
      random: this.random.fork(),
    });
  }

  join(seeds: readonly (string | Address)[], options: JoinOptions = {}): Promise<number> {
    this.cancelAutoRejoin();
    return this.joinThrough(seeds, options);
  }

  rejoin(options: JoinOptions = {}): Promise<number> {
    this.cancelAutoRejoin();
    const peers = this.snapshot?.peers ?? [];
    if (peers.length === 0) return this.isClosed() ? Promise.reject(new AgentClosedError('rejoin')) : Promise.resolve(0);
    return this.joinThrough(
      peers.map((p) => ({ host: p.host, port: p.port })),
      options,
    );
  }

  private cancelAutoRejoin(): void {
    if (this.rejoinTimer !== null) {
      clearTimeout(this.rejoinTimer);
      this.rejoinTimer = null;
    }
  }

  private async joinThrough(seeds: readonly (string | Address)[], options: JoinOptions): Promise<number> {
    if (this.isClosed()) throw new AgentClosedError('join');
    if (this.lifecycle !== 'running') throw new NotStartedError('join');
    const parsed = seeds.map((s) => {
      if (typeof s !== 'string') return { host: s.host, port: s.port };
      const p = parseHostPort(s, { defaultPort: DEFAULT_PORT });
      if (!p.ok) throw new InvalidAddressError(s, p.problem);
      return p.address;
    });
    if (parsed.length === 0) throw new JoinError([]);
    const attempts = Math.max(1, Math.floor(options.attempts ?? AGENT_DEFAULTS.join.attempts));
    const backoffMs = Math.max(0, options.backoffMs ?? AGENT_DEFAULTS.join.backoffMs);
    const timeoutMs = Math.max(1, options.timeoutMs ?? AGENT_DEFAULTS.join.timeoutMs);
    const results = await Promise.all(parsed.map((seed) => this.joinSeed(seed, attempts, backoffMs, timeoutMs)));
    const answered = results.filter((r) => r === null).length;
    const failures = results.filter((r): r is SeedFailure => r !== null);
    for (const f of failures) this.log.debug({ seed: f.seed, reason: f.reason, attempts: f.attempts }, 'seed did not answer');
    if (answered === 0) throw new JoinError(failures);
    this.log.info({ answered, seeds: parsed.length }, 'joined');
    return answered;
  }

  /** Joins through one seed with retries; null when it answered, else its last failure. */
  private async joinSeed(seed: Address, attempts: number, backoffMs: number, timeoutMs: number): Promise<SeedFailure | null> {
    const label = formatHostPort(seed);
    const deadline = now() + timeoutMs;
    let last: JoinOutcome = { ok: false, reason: 'not attempted' };
    let made = 0;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const remaining = deadline - now();
      if (remaining <= 0 || this.isClosed()) break;
      made++;
      last = await this.joinAttempt(seed, remaining);
      if (last.ok) return null;
      if (attempt === attempts) break;
      const wait = Math.min(backoffMs * 2 ** (attempt - 1), deadline - now());
      if (wait <= 0) break;
      await this.sleep(wait);
    }
    if (last.ok) return null;
    if (this.isClosed()) last = { ok: false, reason: 'the agent was closed' };
    return { seed: label, reason: last.reason, ...(last.errno === undefined ? {} : { errno: last.errno }), attempts: made };
  }

  private joinAttempt(seed: Address, remainingMs: number): Promise<JoinOutcome> {
    this.extra.joinAttempts++;
    return new Promise<JoinOutcome>((resolve) => {
      let settled = false;
      const waiter: JoinWaiter = {
        key: addressKey(seed),
        settle: (outcome) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.timers.delete(timer);
          this.joinWaiters.delete(waiter);
          resolve(outcome);
        },
      };
      const timer = setTimeout(() => waiter.settle({ ok: false, reason: `no answer within ${Math.round(remainingMs)} ms` }), remainingMs);
      timer.unref();
      this.timers.add(timer);
      this.joinWaiters.add(waiter);
      if (this.membership.left) {
        waiter.settle({ ok: false, reason: 'this node has left' });
        return;
      }
      const dials = this.apply(this.membership.join([seed], now()));
      const dial = dials.find((d) => d.to === seed) ?? dials.find((d) => addressKey(d.to) === waiter.key);
      if (dial === undefined) {
        waiter.settle({ ok: false, reason: "it is this agent's own address" });
        return;
      }
      void dial.result.then((r) => {
        if (r.ok) {
          waiter.settle({
            ok: false,
            reason: 'the peer closed the connection without answering the join (if it is a hearsay agent, it may use another encryption key or cluster label: check --key and --label)',
          });
        }
        else waiter.settle({ ok: false, reason: r.message, ...(r.errno === undefined ? {} : { errno: r.errno }) });
      });
    });
  }

  leave(options: LeaveOptions = {}): Promise<void> {
    if (this.closePromise !== null) return this.closePromise;
    if (this.lifecycle !== 'running') return this.close();
    this.leavePromise ??= this.doLeave(options.timeoutMs ?? AGENT_DEFAULTS.leaveTimeoutMs);
    return this.leavePromise;
  }

  private async doLeave(timeoutMs: number): Promise<void> {
    this.lifecycle = 'leaving';
    this.cancelAutoRejoin();
    this.log.info('leaving');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.log.warn({ timeoutMs }, 'leave: not every retransmission went out before the timeout; closing anyway');
        done();
      }, timeoutMs);
      timer.unref();
      const done = (): void => {
        clearTimeout(timer);
        this.leaveDone = null;
        resolve();
      };
      this.leaveDone = done;
      this.apply(this.membership.leave(now()));
      if (this.leaveDisseminated) done();
    });
    await this.close();
  }

  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    const wasStarted = this.startPromise !== null;
    if (wasStarted) await this.startPromise?.catch(() => {});
    const wasRunning = this.lifecycle === 'running' || this.lifecycle === 'leaving';
    this.lifecycle = 'closed';
    this.cancelAutoRejoin();
    if (this.snapshotTimer !== null) clearInterval(this.snapshotTimer);
    this.snapshotTimer = null;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const w of [...this.joinWaiters]) w.settle({ ok: false, reason: 'the agent was closed' });
    for (const wake of [...this.sleepers]) wake();
    this.leaveDone?.();
    this.registry.close();
    await this.servicesSaving;
    if (wasRunning) await this.saveSnapshot();
    await this.transport.close();
    this.hub.close();
    this.log.info('agent closed');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  setTags(tags: Readonly<Record<string, string>>): void {
    if (this.isClosed() || this.membership.left) throw new AgentClosedError('setTags');
    const next = Object.freeze({ ...tags });
    const payload = this.membership.member(this.name)?.state.payload ?? null;
    const state: MemberState = { tags: next, payload };
    if (this.lifecycle === 'running') {
      this.apply(this.membership.setLocalState(state, now()));
    } else {
      // Before start: validate against the provisional core; the real one starts with these tags.
      this.membership.setLocalState(state, now());
    }
    this.tags = next;
  }

  // ---------------------------------------------------------------- services

  register(definition: ServiceDefinition, options: { persist?: boolean } = {}): ServiceInstance {
    if (this.isClosed() || this.membership.left) throw new AgentClosedError('register');
    return this.registry.register(definition, { persist: options.persist ?? false });
  }

  /** Registers again what an earlier run saved in the data dir (unless already registered, e.g. from a config file). */
  private restoreSavedServices(): void {
    if (this.savedServices.length === 0) return;
    this.restoring = true;
    for (const def of this.savedServices) {
      const id = (def as { id?: unknown } | null)?.id;
      if (typeof id === 'string' && this.registry.local.has(id)) continue;
      try {
        const inst = this.registry.register(def as ServiceDefinition, { persist: true });
        this.dataLog.info({ service: inst.name, id: inst.id }, 'registered a service saved by an earlier run');
      } catch (err) {
        this.dataLog.warn({ err, definition: def }, 'could not register a service saved by an earlier run; dropping it');
      }
    }
    this.restoring = false;
    // Write back what was kept (a saved definition that no longer validates is dropped).
    this.saveServices(this.registry.persistedDefinitions());
  }

  /**
   * Saves the persisted definitions: the latest list wins, one write at a time (an older list can
   * never land after a newer one), nothing while restoring (the list is being rebuilt).
   */
  private saveServices(definitions: readonly ServiceDefinition[]): void {
    if (this.servicesWriter === null || this.restoring) return;
    this.pendingServices = definitions;
    this.servicesSaving ??= this.flushServices();
  }

  private async flushServices(): Promise<void> {
    const writer = this.servicesWriter!;
    try {
      await writer.prepare();
      while (this.pendingServices !== null) {
        const next = this.pendingServices;
        this.pendingServices = null;
        if (await writer.write(makeServicesFile(next))) this.extra.snapshotWrites++;
      }
    } catch (err) {
      this.extra.snapshotErrors++;
      this.dataLog.warn({ err }, 'could not save the registered services in the data dir');
    } finally {
      this.servicesSaving = null;
    }
  }


  deregister(id: string): boolean {
    return this.registry.deregister(id);
  }

  lookup(name: string, options?: LookupOptions): readonly ServiceInstance[] {
    return this.registry.lookup(name, options);
  }

  pick(name: string, options?: PickOptions): ServiceInstance | undefined {
    return this.registry.pick(name, options);
  }

  services(): ServiceSummary[] {
    return this.registry.services();
  }

  localServices(): LocalService[] {
    return this.registry.localServices();
  }

  checks(): CheckInfo[] {
    return this.registry.checks();
  }

  updateCheck(checkId: string, status: CheckStatus, note?: string): void {
    this.registry.updateTtl(checkId, status, note);
  }

  setMaintenance(enable: boolean, options: { serviceId?: string; reason?: string } = {}): void {
    this.registry.setMaintenance(enable, options.serviceId, options.reason);
  }

  serviceIndex(name: string): number {
    return this.registry.index.indexOf(name);
  }

  watch(name: string, options?: WatchOptions): AsyncIterableIterator<ServiceWatchUpdate> {
    return this.registry.watch(name, options);
  }

  onServiceChange(name: string, listener: (update: ServiceWatchUpdate) => void, options: LookupOptions = {}): () => void {
    return this.registry.subscribe(name, options, listener);
  }

  private publishPayload(payload: Uint8Array | null): void {
    if (this.isClosed() || this.membership.left) return;
    const state: MemberState = { tags: this.tags, payload };
    if (this.lifecycle === 'running') this.apply(this.membership.setLocalState(state, now()));
    else this.membership.setLocalState(state, now());
  }

  private isClosed(): boolean {
    return this.lifecycle === 'closed' || this.closePromise !== null;
  }

  /** Packets are handled while running and while leaving (the leave must still get out). */
  private get live(): boolean {
    return (this.lifecycle === 'running' || this.lifecycle === 'leaving') && this.closePromise === null;
  }

  // ---------------------------------------------------------------- I/O

  private onDatagram(from: Address, packet: Uint8Array): void {
    if (!this.live) return;
    this.apply(this.membership.handlePacket(from, packet, 'datagram', now()));
  }

  private onInboundFrame(from: Address, frame: Uint8Array, reply: (frame: Uint8Array) => void): void {
    if (!this.live) return;
    this.apply(this.membership.handlePacket(from, frame, 'stream', now()), { replyTo: from, reply });
  }

  /** A frame read back on a connection this node dialed (`to`). */
  private onDialFrame(to: Address, frame: Uint8Array): void {
    if (!this.live) return;
    this.apply(this.membership.handlePacket(to, frame, 'stream', now()));
  }

  /**
   * Carries out effects. Returns the dials it started (their `to` and result), so that join can
   * follow the one to its seed.
   */
  private apply(effects: readonly Effect[], ctx: ApplyContext = {}): { to: Address; result: Promise<DialResult> }[] {
    const dials: { to: Address; result: Promise<DialResult> }[] = [];
    for (const e of effects) {
      switch (e.type) {
        case 'send':
          if (e.channel === 'datagram') {
            this.transport.sendDatagram(e.to, e.packet);
          } else if (ctx.reply !== undefined && e.to === ctx.replyTo) {
            ctx.reply(e.packet);
          } else {
            const to = e.to;
            const result = this.transport.dial(to, e.packet, (frame) => this.onDialFrame(to, frame));
            void result.then((r) => {
              if (!r.ok) this.log.debug({ to: formatHostPort(to), reason: r.reason, err: r.message }, 'stream exchange failed');
            });
            dials.push({ to, result });
          }
          break;
        case 'schedule':
          this.schedule(e.timer, e.delayMs);
          break;
        case 'emit':
          this.onEvent(e.event);
          break;
        case 'report':
          this.onReport(e.report);
          break;
      }
    }
    return dials;
  }

  private schedule(timer: Timer, delayMs: number): void {
    if (!this.live) return;
    const handle = setTimeout(() => {
      this.timers.delete(handle);
      if (!this.live) return;
      this.apply(this.membership.handleTimer(timer, now()));
    }, delayMs);
    handle.unref();
    this.timers.add(handle);
  }

  /** Waits `ms`, or less when the agent closes (a sleeping join must still finish). */
  private sleep(ms: number): Promise<void> {
    if (this.isClosed()) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(handle);
        this.timers.delete(handle);
        this.sleepers.delete(wake);
        resolve();
      };
      const handle = setTimeout(wake, ms);
      handle.unref();
      this.timers.add(handle);
      this.sleepers.add(wake);
    });
  }

  private onEvent(event: MembershipEvent): void {
    if (event.type === 'push-pull-complete' && event.join) {
      const key = addressKey(event.peer);
      for (const w of [...this.joinWaiters]) if (w.key === key) w.settle({ ok: true });
    } else if (event.type === 'leave-disseminated') {
      this.leaveDisseminated = true;
      this.leaveDone?.();
    }
    this.logEvent(event);
    this.hub.publish(event);
    this.registry.onMembershipEvent(event);
  }

  /** Membership changes at info (what an operator reads), suspicions at warn, the rest at debug. */
  private logEvent(event: MembershipEvent): void {
    switch (event.type) {
      case 'member-join':
      case 'member-leave':
      case 'member-alive':
      case 'member-update':
        this.log.info({ member: event.member.name, addr: `${event.member.host}:${event.member.port}`, incarnation: event.member.incarnation }, event.type);
        break;
      case 'member-suspect':
        this.log.warn({ member: event.member.name, from: event.from, incarnation: event.member.incarnation }, event.type);
        break;
      case 'member-dead':
        this.log.warn({ member: event.member.name, from: event.from, incarnation: event.member.incarnation }, event.type);
        break;
      case 'member-conflict':
        this.log.error(
          { member: event.name, holder: `${event.holder.host}:${event.holder.port}`, other: `${event.other.host}:${event.other.port}`, incarnation: event.incarnation },
          'two nodes claim one name: the holder keeps it; give every node a unique --name',
        );
        break;
      case 'self-refute':
        this.log.warn({ incarnation: event.incarnation, accusedBy: event.accusedBy }, 'refuted a suspicion of this node');
        break;
      default:
        if (this.log.isLevelEnabled('debug')) this.log.debug({ event }, event.type);
    }
  }

  /** What the core reports for diagnosis: dropped packets at debug, a probe answered only over TCP at warn. */
  private onReport(report: Report): void {
    if (report.kind === 'packet-dropped') {
      if (this.log.isLevelEnabled('debug')) {
        const { from, channel, bytes, reason, detail } = report;
        this.log.debug({ from: formatHostPort(from), channel, bytes, reason, ...(detail === undefined ? {} : { detail }) }, 'packet dropped');
      }
      return;
    }
    this.warnUdpBlocked(report.member, report.addr);
  }

  /**
   * TCP ping fallback: the datagram probe to this peer timed out, yet it acked over TCP. UDP is
   * probably blocked (a firewall) or one side advertises an address the other cannot reach by
   * UDP. Warn once per peer per interval, as memberlist does.
   */
  private warnUdpBlocked(member: string, to: Address): void {
    this.extra.streamProbeAcks++;
    const t = now();
    const every = this.options.udpWarningIntervalMs ?? AGENT_DEFAULTS.udpWarningIntervalMs;
    const last = this.udpWarnedAt.get(member);
    if (last !== undefined && t - last < every) return;
    this.udpWarnedAt.set(member, t);
    if (this.udpWarnedAt.size > 10_000) this.udpWarnedAt.clear();
    this.extra.udpWarnings++;
    const peer = formatHostPort(to);
    this.log.warn(
      { peer: member, addr: peer },
      `${member} (${peer}) answered a TCP ping but not the UDP probe before it: UDP between the two nodes is probably blocked ` +
        `(a firewall dropping UDP on port ${to.port}, here or there) or one of you advertises an address the other cannot reach ` +
        'over UDP (check the advertise address); the node is kept alive by TCP, but UDP gossip and failure detection suffer',
    );
  }

  private async saveSnapshot(): Promise<void> {
    if (this.writer === null) return;
    const snap = makeSnapshot(this.name, this.membership.incarnation, this.membership.records());
    try {
      if (await this.writer.write(snap)) this.extra.snapshotWrites++;
    } catch (err) {
      this.extra.snapshotErrors++;
      this.dataLog.warn({ err }, 'could not write the data-dir snapshot');
    }
  }
}
