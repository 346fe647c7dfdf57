/**
 * The agent: a node of the mesh a user embeds or runs as `hearsay agent`. It wires the parts that
 * each live in their own file and owns the lifecycle (created → starting → running → leaving →
 * closed):
 *
 *   runtime.ts          drives the sans-I/O Membership with real time, timers and sockets
 *   join.ts             joins through seeds with retries and backoff
 *   persistence.ts      the data dir: peer snapshot and saved registrations
 *   event-log.ts        what is logged about the mesh, at which level
 *   services.ts         the registry, index and health checks (services-facade.ts: their API)
 *   security/           the envelope around every packet and the key operations
 */
import { hostname } from 'node:os';
import { silentLogger, type Logger } from '../log/logger.js';
import { AgentClosedError, InvalidAddressError, NotStartedError, ServiceLimitError, ServiceNotAllowedError } from '../errors.js';
import { IdentityError, type NodeIdentity } from '../identity/identity.js';
import { servicesAllow } from '../identity/spiffe.js';
import { Ed25519Authenticator } from '../identity/authenticator.js';
import { REVOCATIONS_KEY } from '../identity/revocation-spread.js';
import { revocationOf, type RevocationList } from '../identity/revocations.js';
import { HearsayError } from '../errors.js';
import { INSTANCE_KEY_PREFIX, instanceFromEntry } from '../registry/entries.js';

/** The service a state entry registers (an instance entry), for the receivers' certificate check. */
function serviceOfEntry(key: string, value: Uint8Array): string | null {
  if (!key.startsWith(INSTANCE_KEY_PREFIX)) return null;
  const r = instanceFromEntry({ key, value });
  return r.ok ? r.record.name : null;
}
import type { EntryChange } from '../registry/entries.js';
import { Membership } from '../membership/membership.js';
import type { ResolvedOptions } from '../membership/options.js';
import type { MembershipEvent, MemberView } from '../membership/types.js';
import { KeyManager } from '../security/key-manager.js';
import { SecureTransport } from '../security/secure-transport.js';
import { defaultAdvertiseHost, formatHostPort } from '../transport/address.js';
import { SeededRandom } from '../util/random.js';
import { nextIncarnation } from '../membership/incarnation.js';
import type { Address, MemberState } from '../wire/messages.js';
import { agentCounters } from './counters.js';
import { AGENT_DEFAULTS } from './defaults.js';
import { instanceIds, seedBytes } from './instance-ids.js';
import { DeferredEventLog, ReportLog } from './event-log.js';
import { ProbeRtt } from './probe-rtt.js';
import { revocationsPath, RevocationRuntime, withPersistedRevocations, type RevocationAdoption } from './revocations.js';
import { EventHub } from './events.js';
import { Joiner } from './join.js';
import { WARM_UP_DELAY_MS, warmJoinPath } from './warm-up.js';
import { resolveAgentOptions, transportOptions } from './options.js';
import { Persistence } from './persistence.js';
import { CoreRuntime, now } from './runtime.js';
import { parseSeed, resolveSeeds, type Seed } from './seeds.js';
import { ServiceFacade } from './services-facade.js';
import { ServiceRuntime } from './services.js';
import type { Agent, AgentCounters, AgentEvent, AgentHistograms, AgentOptions, AgentState, JoinOptions, LeaveOptions, MemberInfo } from './types.js';

/** Creates an agent; nothing touches the network until start(). Throws InvalidOptionsError. */
export function createAgent(options: AgentOptions = {}): Agent {
  return new HearsayAgent(options);
}

export class HearsayAgent extends ServiceFacade implements Agent {
  readonly name: string;
  /** Key operations on this node's keyring and across the mesh (security/key-manager.ts). */
  readonly keyManager: KeyManager;

  protected readonly serviceRuntime: ServiceRuntime;
  private readonly options: AgentOptions;
  private readonly log: Logger;
  private readonly random: SeededRandom;
  private readonly hub: EventHub<AgentEvent>;
  private readonly transport: SecureTransport;
  private readonly runtime: CoreRuntime;
  private readonly joiner: Joiner;
  private readonly persistence: Persistence;
  private readonly reports: ReportLog;
  private readonly eventLog: DeferredEventLog;
  private readonly probeRtt = new ProbeRtt(() => performance.now());
  /** Builds the core for the address known after binding. */
  private readonly makeCore: (addr: Address) => Membership;
  /** This process's state-layer generation (see makeMembership). */
  private readonly stateGeneration = Date.now();
  private readonly dataLog: Logger;
  private lifecycle: AgentState = 'created';
  /** Whether the core made at start has replaced the provisional one (membersVersion). */
  private coreStarted = false;
  private advertised: Address;
  private bound: Address;
  private tags: Readonly<Record<string, string>>;
  private startPromise: Promise<void> | null = null;
  private closePromise: Promise<void> | null = null;
  private leavePromise: Promise<void> | null = null;
  private leaveDone: (() => void) | null = null;
  private leaveDisseminated = false;
  private cancelRejoin: () => void = () => {};
  private currentIdentity: NodeIdentity | undefined;
  /** Revocation lists: announced, fetched from peers, adopted (agent/revocations.ts); with identity only. */
  private readonly revocationRuntime: RevocationRuntime | undefined;

  constructor(options: AgentOptions) {
    super();
    const resolved = resolveAgentOptions(options);
    const { security } = resolved;
    this.options = options;
    const base = options.logger ?? silentLogger();
    this.persistence = new Persistence(options.dataDir, base);
    const identity = options.identity;
    if (identity !== undefined && options.name !== undefined && options.name !== identity.node) {
      throw new IdentityError('wrong-name', `the certificate is for the node "${identity.node}", not "${options.name}": give name "${identity.node}", or a certificate issued for "${options.name}"`);
    }
    // A list a previous run adopted from the mesh into the data dir (no --revocations file to hold it).
    this.currentIdentity = identity === undefined || options.revocationsFile !== undefined ? identity : withPersistedRevocations(identity, options.dataDir);
    this.name = options.name ?? identity?.node ?? this.persistence.snapshot?.name ?? `${hostname()}-${seedBytes(3).toString('hex')}`;
    const root = base.child({ node: this.name });
    this.log = root.child({ component: 'agent' });
    this.dataLog = root.child({ component: 'data-dir' });
    this.persistence.attach(this.dataLog);
    const snap = this.persistence.snapshot;
    if (snap !== null && snap.name !== this.name) {
      this.dataLog.warn({ snapshotName: snap.name }, 'the data-dir snapshot was written by another node name: using its peers but not its incarnation');
    }
    this.random = new SeededRandom(seedBytes(6).readUIntBE(0, 6));
    this.hub = new EventHub<AgentEvent>({ onListenerError: (err) => this.log.error({ err }, 'an event listener threw') });
    this.tags = Object.freeze({ ...(options.tags ?? {}) });
    this.bound = { ...(options.bind ?? AGENT_DEFAULTS.bind) };
    this.advertised = { ...(options.advertise ?? this.bound) };
    this.eventLog = new DeferredEventLog(this.log);
    this.reports = new ReportLog(this.log, options.udpWarningIntervalMs ?? AGENT_DEFAULTS.udpWarningIntervalMs, now);
    const ids = instanceIds();
    this.serviceRuntime = new ServiceRuntime(
      {
        nodeName: this.name,
        advertiseHost: () => this.advertised.host,
        checkEntries: (changes, what) => this.checkEntries(changes, what),
        publish: (changes) => this.publishEntries(changes),
        persist: (definitions) => this.persistence.saveServices(definitions),
        allowService: (service) => {
          const id = this.currentIdentity;
          if (id !== undefined && !servicesAllow(id.services, service)) throw new ServiceNotAllowedError(service, id.node, id.services);
        },
        freshId: () => ids(),
        now,
        random: this.random.fork(),
        emit: (event) => this.hub.publish(event),
        log: root.child({ component: 'services' }),
      },
      options.serviceUpdateIntervalMs ?? AGENT_DEFAULTS.serviceUpdateIntervalMs,
      {
        maxInstancesPerNode: options.maxInstancesPerNode ?? AGENT_DEFAULTS.maxInstancesPerNode,
        maxInstanceBytes: options.maxInstanceBytes ?? AGENT_DEFAULTS.maxInstanceBytes,
      },
      options.checkOutputIntervalMs ?? AGENT_DEFAULTS.checkOutputIntervalMs,
    );
    this.transport = new SecureTransport(transportOptions(options, resolved, this.bound, root.child({ component: 'transport' }), (host) => this.runtime.isPeerHost(host)), {
      onDatagram: (from, packet) => this.runtime.receive(from, packet, 'datagram'),
      onStreamFrame: (from, frame, reply) => this.runtime.receive(from, frame, 'stream', reply),
    });
    const authenticator = this.recordAuthenticator();
    this.revocationRuntime =
      authenticator === undefined
        ? undefined
        : new RevocationRuntime({
            name: this.name,
            log: root.child({ component: 'revocations' }),
            authenticator,
            identity: () => this.currentIdentity as NodeIdentity,
            setList: (list) => {
              const cur = this.currentIdentity as NodeIdentity;
              this.currentIdentity = { ...cur, revocations: list, revocationsVersion: list.version };
            },
            announce: (value) => this.publishEntries([{ key: REVOCATIONS_KEY, value }]),
            members: () => this.runtime.core.members(),
            announcementOf: (node) => {
              const e = this.runtime.core.stateEntry(node, REVOCATIONS_KEY);
              return e === undefined || e.deleted ? undefined : e.value;
            },
            revoke: (name) => {
              if (this.lifecycle === 'running') this.runtime.run((core, t) => core.revoke(name, t));
            },
            fetch: (to, request) => this.transport.dialRevocations(to, request),
            after: (ms, fn) => this.runtime.after(ms, fn),
            random: () => this.random.next(),
            now,
            path: revocationsPath(options.revocationsFile, options.dataDir),
          });
    this.transport.onRevocations((_from, _request, reply) => {
      if (this.live && this.revocationRuntime !== undefined) reply(this.revocationRuntime.spread.answer());
    });
    // A provisional core (the real one needs the bound port): validates the tags now, and answers
    // members() and counters() before start().
    const provisional = this.makeMembership(this.advertised, resolved.membership);
    this.runtime = new CoreRuntime(provisional, this.transport, { onEvent: (e) => this.onEvent(e), onReport: (r) => {
          this.probeRtt.report(r);
          this.reports.report(r);
        }, onAnswered: (peer) => this.joiner.answered(peer), live: () => this.live }, this.log);
    this.makeCore = (addr) => this.makeMembership(addr, resolved.membership);
    this.joiner = new Joiner(this.runtime, this.log, () => this.isClosed());
    this.keyManager = new KeyManager(
      security.keyring,
      this.name,
      () => this.runtime.core.members().filter((v) => v.status === 'alive' || v.status === 'suspect').map((v) => ({ name: v.name, addr: { host: v.host, port: v.port } })),
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
    return this.runtime.core.incarnation;
  }

  get state(): AgentState {
    return this.lifecycle;
  }

  members(): MemberInfo[] {
    return this.runtime.core.members().map((v) => ({ name: v.name, addr: v.host, port: v.port, status: v.status, incarnation: v.incarnation, tags: v.state.tags }));
  }

  membersVersion(): number {
    // The core made at start replaces the provisional one, whose versions count from 0 as well.
    return this.runtime.core.viewVersion * 2 + (this.coreStarted ? 1 : 0);
  }

  memberViews(): MemberView[] {
    return this.runtime.core.members();
  }

  get identity(): NodeIdentity | undefined {
    return this.currentIdentity;
  }

  setIdentity(given: NodeIdentity): void {
    // The list in force stays unless the new files bring a newer one (a list adopted from the mesh
    // may be newer than the --revocations file, or there may be no file at all).
    const inForce = this.currentIdentity?.revocations;
    const next = inForce !== undefined && (given.revocationsVersion ?? 0) < inForce.version ? { ...given, revocations: inForce, revocationsVersion: inForce.version } : given;
    if (next !== given && revocationOf(inForce as RevocationList, next.serial, next.fingerprint) !== undefined) {
      throw new IdentityError('revoked', `the new certificate (serial ${next.serial}) is revoked by the revocation list version ${(inForce as RevocationList).version} in force: issue another one (\`hearsay ca issue --node ${this.name}\`)`);
    }
    if (next.node !== this.name) throw new IdentityError('wrong-name', `the new certificate is for the node "${next.node}", not "${this.name}": issue one for ${this.name}`);
    const uncovered = [...new Set(this.serviceRuntime.local.records().map((r) => r.name))].filter((s) => !servicesAllow(next.services, s));
    if (uncovered.length > 0) {
      const them = uncovered.length === 1 ? 'it' : 'them';
      throw new IdentityError(
        'services-in-use',
        `the new certificate does not allow ${uncovered.map((s) => `"${s}"`).join(', ')}, registered on this node: deregister ${them} first, or issue a certificate that allows ${them}`,
      );
    }
    const prev = this.currentIdentity;
    this.currentIdentity = next;
    this.authenticator?.renew(next);
    const list = next.revocations;
    // A newer list from the files (SIGHUP, the watch): announced and put in force as one from a peer is.
    if (list !== undefined && list.version > (prev?.revocationsVersion ?? 0)) this.revocationRuntime?.adopt(list, 'the --revocations file', false);
    if (prev?.fingerprint === next.fingerprint) return;
    this.log.info({ fingerprint: next.fingerprint, previous: prev?.fingerprint, notAfter: new Date(next.notAfterMs).toISOString(), services: next.services }, 'certificate renewed');
  }

  get revocations(): RevocationList | undefined {
    return this.currentIdentity?.revocations;
  }

  putRevocations(list: unknown): RevocationAdoption {
    if (this.revocationRuntime === undefined) {
      throw new HearsayError('HEARSAY_ERR_IDENTITY_DISABLED', 'this agent runs without a certificate, so it holds no revocation list: start it with --ca, --cert and --cert-key');
    }
    return this.revocationRuntime.put(list);
  }

  counters(): AgentCounters {
    return agentCounters({
      core: this.runtime.core,
      transport: this.transport.counterValues(),
      agent: { ...this.reports.counters, joinAttempts: this.joiner.attempts, snapshotWrites: this.persistence.counters.writes, snapshotErrors: this.persistence.counters.errors, eventsDropped: this.hub.dropped },
      services: this.serviceRuntime,
      ...(this.currentIdentity === undefined ? {} : { identity: { notAfterMs: this.currentIdentity.notAfterMs, nowMs: Date.now() } }),
      ...(this.authenticator === undefined ? {} : { authenticator: this.authenticator.stats }),
      ...(this.revocationRuntime === undefined ? {} : { revocations: this.revocationRuntime.counters }),
    });
  }

  histograms(): AgentHistograms {
    return this.probeRtt.histograms();
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
      await this.persistence.prepare();
      const bound = await this.transport.listen();
      this.bound = bound;
      const adv = this.options.advertise;
      this.advertised = adv === undefined ? { host: defaultAdvertiseHost(bound.host), port: bound.port } : { host: adv.host, port: adv.port === 0 ? bound.port : adv.port };
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
    this.persistence.restoreServices(this.serviceRuntime);
    this.runtime.core = this.makeCore(this.advertised);
    this.coreStarted = true;
    this.lifecycle = 'running';
    this.serviceRuntime.refreshSelf();
    this.log.info({ bind: formatHostPort(this.bound), advertise: formatHostPort(this.advertised), incarnation: this.incarnation }, 'agent started');
    this.runtime.run((core, t) => core.start(t));
    this.persistence.startSnapshots(this.options.snapshotIntervalMs ?? AGENT_DEFAULTS.snapshotIntervalMs, () => ({
      name: this.name,
      incarnation: this.incarnation,
      records: this.runtime.core.records(),
    }));
    // A second after start, once the caller's API is up and answering: the first join then need
    // not compile its code (warm-up.ts).
    this.runtime.after(WARM_UP_DELAY_MS, () => void warmJoinPath(createAgent));
    const peers = this.persistence.snapshot?.peers ?? [];
    if (peers.length > 0 && (this.options.autoRejoin ?? AGENT_DEFAULTS.autoRejoin)) {
      this.cancelRejoin = this.runtime.after(this.options.autoRejoinDelayMs ?? AGENT_DEFAULTS.autoRejoinDelayMs, () => {
        this.rejoin().then(
          (n) => this.log.info({ answered: n }, 'rejoined through the data-dir snapshot'),
          (err: unknown) => this.log.warn({ err }, 'could not rejoin through the data-dir snapshot; call join() with seeds'),
        );
      });
    }
  }

  private makeMembership(addr: Address, options: ResolvedOptions): Membership {
    const snap = this.persistence.snapshot;
    const incarnation = snap !== null && snap.name === this.name ? nextIncarnation(snap.incarnation) : 0;
    // The state layer's generation: the wall clock, so that a restart (which starts with the
    // registrations it saved, not the versions it had spread) replaces its old state everywhere.
    const identity = this.recordAuthenticator();
    return new Membership({
      name: this.name,
      addr,
      state: { tags: this.tags, payload: null },
      incarnation,
      options,
      random: this.random.fork(),
      stateLayer: { generation: this.stateGeneration, entries: [...this.serviceRuntime.startEntries(), ...(this.revocationRuntime === undefined ? [] : [this.revocationRuntime.startEntry()])] },
      ...(identity === undefined ? {} : { identity: { authenticator: identity, transition: this.options.identityTransition ?? 'off' } }),
    });
  }

  /** The signer and verifier of records on the wire, with a certificate identity (one per agent). */
  private authenticator: Ed25519Authenticator | undefined;
  private recordAuthenticator(): Ed25519Authenticator | undefined {
    const id = this.currentIdentity;
    if (id === undefined || id.caCertificate === undefined) return undefined;
    this.authenticator ??= new Ed25519Authenticator({ identity: id, ca: id.caCertificate, serviceOf: serviceOfEntry, ...(id.revocations === undefined ? {} : { revocations: id.revocations }) });
    return this.authenticator;
  }

  join(seeds: readonly (string | Address)[], options: JoinOptions = {}): Promise<number> {
    this.cancelRejoin();
    return this.joinThrough(seeds, options);
  }

  rejoin(options: JoinOptions = {}): Promise<number> {
    this.cancelRejoin();
    const peers = this.persistence.snapshot?.peers ?? [];
    if (peers.length === 0) return this.isClosed() ? Promise.reject(new AgentClosedError('rejoin')) : Promise.resolve(0);
    return this.joinThrough(
      peers.map((p) => ({ host: p.host, port: p.port })),
      options,
    );
  }

  private async joinThrough(seeds: readonly (string | Address)[], options: JoinOptions): Promise<number> {
    if (this.isClosed()) throw new AgentClosedError('join');
    if (this.lifecycle !== 'running') throw new NotStartedError('join');
    const parsed = seeds.map((s): Seed => {
      if (typeof s !== 'string') return { kind: 'host', text: formatHostPort(s), address: { host: s.host, port: s.port } };
      const p = parseSeed(s);
      if (!p.ok) throw new InvalidAddressError(s, p.problem);
      return p.seed;
    });
    const { targets, failures } = await resolveSeeds(parsed, this.options.seedResolver);
    return this.joiner.join(targets, failures, options);
  }

  leave(options: LeaveOptions = {}): Promise<void> {
    if (this.closePromise !== null) return this.closePromise;
    if (this.lifecycle !== 'running') return this.close();
    this.leavePromise ??= this.doLeave(options.timeoutMs ?? AGENT_DEFAULTS.leaveTimeoutMs);
    return this.leavePromise;
  }

  private async doLeave(timeoutMs: number): Promise<void> {
    this.lifecycle = 'leaving';
    this.cancelRejoin();
    this.log.info('leaving');
    await new Promise<void>((resolve) => {
      const cancel = this.runtime.after(timeoutMs, () => {
        this.log.warn({ timeoutMs }, 'leave: not every retransmission went out before the timeout; closing anyway');
        done();
      });
      const done = (): void => {
        cancel();
        this.leaveDone = null;
        resolve();
      };
      this.leaveDone = done;
      this.runtime.run((core, t) => core.leave(t));
      if (this.leaveDisseminated) done();
    });
    await this.close();
  }

  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    if (this.startPromise !== null) await this.startPromise.catch(() => {});
    const wasRunning = this.lifecycle === 'running' || this.lifecycle === 'leaving';
    this.lifecycle = 'closed';
    this.runtime.close();
    this.revocationRuntime?.close();
    this.joiner.close();
    this.leaveDone?.();
    this.serviceRuntime.close();
    await this.persistence.close(wasRunning);
    await this.transport.close();
    this.hub.close();
    this.eventLog.flush();
    this.log.info('agent closed');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  setTags(tags: Readonly<Record<string, string>>): void {
    this.assertOpen('setTags');
    const next = Object.freeze({ ...tags });
    this.publishState({ tags: next, payload: this.runtime.core.member(this.name)?.state.payload ?? null });
    this.tags = next;
  }

  forceLeave(name: string): void {
    this.assertOpen('forceLeave');
    if (this.lifecycle !== 'running') throw new NotStartedError('forceLeave');
    this.runtime.run((core, t) => core.forceLeave(name, t));
    this.log.info({ member: name }, 'force-leave: marked left');
  }

  // ---------------------------------------------------------------- internals

  protected assertOpen(what: string): void {
    if (this.isClosed() || this.runtime.core.left) throw new AgentClosedError(what);
  }

  /** Hands this node's new state to the core; before start, to the provisional core (which validates it). */
  private publishState(state: MemberState): void {
    if (this.isClosed() || this.runtime.core.left) return;
    if (this.lifecycle === 'running') this.runtime.run((core, t) => core.setLocalState(state, t));
    else this.runtime.core.setLocalState(state, now());
  }

  /** Hands registry changes to the core's state layer; before start, to the provisional core. */
  private publishEntries(changes: readonly EntryChange[]): void {
    if (this.isClosed() || this.runtime.core.left) return;
    if (this.lifecycle === 'running') this.runtime.run((core, t) => core.changeState(changes, t));
    else this.runtime.core.changeState(changes, now());
  }

  private checkEntries(changes: readonly EntryChange[], what: string): void {
    const err = this.runtime.core.checkStateChanges(changes);
    if (err !== null) throw new ServiceLimitError(what, err.limit, err.limitValue, err.value, `this node's state layer refuses it: ${err.message}`);
  }

  private isClosed(): boolean {
    return this.lifecycle === 'closed' || this.closePromise !== null;
  }

  /** Packets are handled while running and while leaving (the leave must still get out). */
  private get live(): boolean {
    return (this.lifecycle === 'running' || this.lifecycle === 'leaving') && this.closePromise === null;
  }

  private onEvent(event: MembershipEvent): void {
    this.revocationRuntime?.onEvent(event);
    if (event.type === 'state-update') {
      // Another node's entries: the registry's, not a view change to log or publish.
      this.serviceRuntime.onMembershipEvent(event);
      return;
    }
    if (event.type === 'leave-disseminated') {
      this.leaveDisseminated = true;
      this.leaveDone?.();
    }
    this.eventLog.push(event);
    this.hub.publish(event);
    this.serviceRuntime.onMembershipEvent(event);
    // Another live process holds our name and keeps it: the core has stopped claiming it; so does
    // the agent (closing, not leaving: a leave would be about the other process's name).
    if (event.type === 'member-conflict' && event.lost === true) void this.close().catch((err: unknown) => this.log.error({ err }, 'close failed'));
  }
}
