/**
 * An in-process stand-in for the Agent interface: a member table the test sets, joins and leaves
 * that record their calls and do what the test says, and events the test emits by hand.
 * No sockets, no timers.
 */
import type { NodeIdentity } from '../../src/identity/identity.js';
import type { RevocationList } from '../../src/identity/revocations.js';
import type { RevocationAdoption } from '../../src/agent/revocations.js';
import { JoinError, MemberAliveError, UnknownMemberError } from '../../src/errors.js';
import type { MemberView } from '../../src/membership/types.js';
import type { Address, MemberStatus } from '../../src/wire/messages.js';
import type { Agent, AgentCounters, AgentEvent, AgentHistograms, AgentState, JoinOptions, LeaveOptions, MemberInfo } from '../../src/agent/types.js';
import { ServiceRuntime } from '../../src/agent/services.js';
import type { EntryChange } from '../../src/registry/entries.js';
import { ServiceFacade } from '../../src/agent/services-facade.js';
import { SeededRandom } from '../../src/util/random.js';
import { pino } from 'pino';

export function view(name: string, status: MemberStatus = 'alive', options: { host?: string; port?: number; incarnation?: number; tags?: Record<string, string> } = {}): MemberView {
  return {
    name,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 7946,
    incarnation: options.incarnation ?? 1,
    status,
    state: { tags: options.tags ?? {}, payload: null },
    changedAt: 0,
  };
}

export class FakeAgent extends ServiceFacade implements Agent {
  readonly name: string;
  address: Address;
  bindAddress: Address;
  incarnation = 3;
  state: AgentState = 'running';
  views: MemberView[];
  counterValues: Record<string, number> = { packetsIn: 10, bytesIn: 1000, 'dropped.bad-version': 2, 'transport.datagram.packetsOut': 7, healthScore: 0 };
  readonly joinCalls: (readonly (string | Address)[])[] = [];
  readonly leaveCalls: LeaveOptions[] = [];
  /** What join() does; by default every seed answers. */
  joinImpl: (seeds: readonly (string | Address)[]) => Promise<number> = (seeds) => Promise.resolve(seeds.length);
  leaveImpl: () => Promise<void> = () => Promise.resolve();
  private readonly listeners: ((event: AgentEvent) => void)[] = [];
  /** The real service runtime (registry, index, checks), publishing into `published`. */
  protected readonly serviceRuntime: ServiceRuntime;
  readonly published: (readonly EntryChange[])[] = [];
  private nextId = 1;

  constructor(name = 'fake-1', views?: MemberView[]) {
    super();
    this.name = name;
    this.serviceRuntime = new ServiceRuntime(
      {
        nodeName: name,
        advertiseHost: () => this.address.host,
        checkEntries: () => {},
        publish: (changes) => this.published.push(changes),
        freshId: () => `id-${this.nextId++}`,
        now: () => Math.round(performance.now()),
        random: new SeededRandom(1),
        emit: (event) => this.emit(event),
        log: pino({ level: 'silent' }),
      },
      1000,
    );
    this.address = { host: '127.0.0.1', port: 7946 };
    this.bindAddress = { host: '127.0.0.1', port: 7946 };
    this.views = views ?? [view(name, 'alive', { incarnation: 3, tags: { role: 'test' } })];
  }

  get runtime(): ServiceRuntime {
    return this.serviceRuntime;
  }

  protected assertOpen(): void {}

  get listenerCount(): number {
    return this.listeners.length;
  }

  start(): Promise<void> {
    this.state = 'running';
    return Promise.resolve();
  }

  join(seeds: readonly (string | Address)[], _options?: JoinOptions): Promise<number> {
    this.joinCalls.push(seeds);
    return this.joinImpl(seeds);
  }

  rejoin(): Promise<number> {
    return Promise.resolve(0);
  }

  async leave(options: LeaveOptions = {}): Promise<void> {
    this.leaveCalls.push(options);
    this.state = 'leaving';
    await this.leaveImpl();
    this.state = 'closed';
  }

  close(): Promise<void> {
    this.state = 'closed';
    this.serviceRuntime.close();
    return Promise.resolve();
  }

  members(): MemberInfo[] {
    return this.views
      .filter((v) => v.status === 'alive' || v.status === 'suspect')
      .map((v) => ({ name: v.name, addr: v.host, port: v.port, status: v.status, incarnation: v.incarnation, tags: v.state.tags }));
  }

  /** Tests change `views` by hand: never the same version, so nothing is kept from one call to the next. */
  membersVersion(): number {
    return ++this.versionCalls;
  }

  private versionCalls = 0;

  memberViews(): MemberView[] {
    return [...this.views];
  }

  readonly forceLeaveCalls: string[] = [];

  forceLeave(name: string): void {
    this.forceLeaveCalls.push(name);
    const v = this.views.find((x) => x.name === name);
    if (v === undefined || name === this.name) throw new UnknownMemberError(name);
    if (v.status === 'alive') throw new MemberAliveError(name);
    this.views = this.views.map((x) => (x.name === name ? { ...x, status: 'left' } : x));
  }

  /** Set by tests; registrations are not checked against it (the real agent's are: test/agent/identity.test.ts). */
  identity: NodeIdentity | undefined = undefined;

  setIdentity(identity: NodeIdentity): void {
    this.identity = identity;
  }

  revocations: RevocationList | undefined = undefined;
  /** Lists given to putRevocations, as given (the real agent's checks: test/agent/revocation-spread.test.ts). */
  readonly putLists: unknown[] = [];

  putRevocations(list: unknown): RevocationAdoption {
    this.putLists.push(list);
    return { version: 1, previous: 0, revoked: 0, removed: [], self: false };
  }

  setTags(tags: Readonly<Record<string, string>>): void {
    this.views = this.views.map((v) => (v.name === this.name ? { ...v, state: { ...v.state, tags } } : v));
  }

  counters(): AgentCounters {
    return { ...this.counterValues };
  }

  histogramValues: AgentHistograms = {};

  histograms(): AgentHistograms {
    return { ...this.histogramValues };
  }

  on(_event: 'event', listener: (event: AgentEvent) => void): this {
    this.listeners.push(listener);
    return this;
  }

  off(_event: 'event', listener: (event: AgentEvent) => void): this {
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
    return this;
  }

  /** Delivers an event to every listener, as the real agent does. */
  emit(event: AgentEvent): void {
    for (const l of [...this.listeners]) l(event);
  }

  events(): AsyncIterableIterator<AgentEvent> {
    throw new Error('FakeAgent.events() is not used by the HTTP API');
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A join that fails the way the real agent's does. */
export function failingJoin(seeds: readonly (string | Address)[]): Promise<number> {
  return Promise.reject(
    new JoinError(seeds.map((s) => ({ seed: typeof s === 'string' ? s : `${s.host}:${s.port}`, reason: 'connection refused', errno: 'ECONNREFUSED', attempts: 3 }))),
  );
}
