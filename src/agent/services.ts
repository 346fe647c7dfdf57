/**
 * The agent's service registry runtime: this node's registrations and their checks (write side),
 * the mesh-wide index (read side), watches and picks. It ties registry/ (pure) to the agent:
 *
 * - Writes change LocalRegistry, show at once in this node's own lookups, and are published in
 *   the node's state layer: one entry `i:<id>` per instance (registry/entries.ts), so a health
 *   flip changes one small entry, spread as a delta. Publishing is rate-limited to one
 *   publication per `publishIntervalMs` with a trailing publish, so a flapping check cannot flood
 *   the mesh; the first change after a quiet spell goes out at once.
 * - Membership events (liveness) and state updates (other nodes' entries) feed the ServiceIndex
 *   through a RegistryFeed; those about this node are ignored (its own entry comes from
 *   LocalRegistry, which may be ahead of what was published).
 * - Each instance with checks also has an entry `c:<id>` with its checks' statuses and outputs
 *   (registry/check-entries.ts), so other agents can show them: a status change spreads with the
 *   next publication, an output change alone at most once per `checkOutputIntervalMs`.
 * - Limits: at most `maxInstancesPerNode` instances, each entry at most `maxInstanceBytes`, and
 *   the node's state within the state layer's limits; each refusal a ServiceLimitError naming it.
 */
import type { Logger } from '../log/logger.js';
import type { MembershipEvent } from '../membership/types.js';
import { LocalRegistry, type CheckInfo, type CheckStatus, type LocalService, type ServiceDefinition } from '../registry/local.js';
import { encodeInstanceEntry } from '../registry/payload.js';
import { instanceChanges, instanceKey, type EntryChange } from '../registry/entries.js';
import { RegistryFeed } from '../registry/state-feed.js';
import { checksKey, DEFAULT_CHECK_OUTPUT_INTERVAL_MS, planChecks, type ChecksPlan, type HeldChecks, type PublishedCheck } from '../registry/check-entries.js';
import { RandomPicker, RoundRobinPicker, type PickStrategy } from '../registry/pickers.js';
import { diffInstances, hasChanges, ServiceIndex } from '../registry/service-index.js';
import type { LocalInstanceRecord, LookupOptions, ServiceInstance, ServiceSummary, ServiceWatchUpdate } from '../registry/types.js';
import type { Random } from '../util/random.js';
import { AgentClosedError, ServiceLimitError, UnknownServiceError } from '../errors.js';
import { CheckRunner } from './checks.js';

export interface PickOptions extends LookupOptions {
  /** @default 'round-robin' */
  readonly strategy?: PickStrategy;
}

export interface WatchOptions extends LookupOptions {
  readonly signal?: AbortSignal;
}

/** Service events the agent publishes next to membership events (and on GET /v1/events). */
export type ServiceEvent =
  /** The instances of `name` changed somewhere in the mesh (as this node sees it). */
  | { readonly type: 'service-change'; readonly name: string; readonly index: number; readonly instances: number; readonly passing: number }
  /** A check of this agent changed status. */
  | { readonly type: 'check-update'; readonly check: string; readonly serviceId: string; readonly status: CheckStatus; readonly output: string }
  /** Another node's instance's checks, as that node published them (null: the instance has none now). */
  | { readonly type: 'instance-checks'; readonly node: string; readonly serviceId: string; readonly checks: readonly PublishedCheck[] | null }
  /** An instance of this agent was deregistered because a check stayed critical too long. */
  | { readonly type: 'service-deregistered-critical'; readonly serviceId: string; readonly check: string };

export interface ServiceRuntimeHost {
  readonly nodeName: string;
  /** The advertise host, for instances registered without an address. */
  advertiseHost(): string;
  /** Throws ServiceLimitError when these changes would break a limit of the node's state layer. */
  checkEntries(changes: readonly EntryChange[], what: string): void;
  /** Makes the changes in the node's state layer (spread as deltas). */
  publish(changes: readonly EntryChange[]): void;
  /**
   * The persisted registrations changed (the agent saves them in its data dir). Must not throw;
   * the promise resolves once they are durable and rejects (PersistError) when they could not be.
   */
  persist?(definitions: readonly ServiceDefinition[]): Promise<void> | void;
  /** Throws (ServiceNotAllowedError) when this node may not register the service `name`. @default every name is allowed */
  allowService?(name: string): void;
  /** A fresh instance id (instance-ids.ts: hyperid's form). */
  freshId(): string;
  now(): number;
  random: Random;
  emit(event: ServiceEvent): void;
  log: Logger;
}

/** The registry's limits on one node (AgentOptions.maxInstancesPerNode, maxInstanceBytes). */
export interface ServiceLimits {
  readonly maxInstancesPerNode: number;
  /** Most bytes of one instance's state entry (its key `i:<id>` and its encoded instance). */
  readonly maxInstanceBytes: number;
}

export class ServiceRuntime {
  readonly index = new ServiceIndex();
  readonly local = new LocalRegistry();
  private readonly runner: CheckRunner;
  private readonly roundRobin = new RoundRobinPicker();
  private readonly randomPicker: RandomPicker;
  private publishTimer: NodeJS.Timeout | null = null;
  private reapTimer: NodeJS.Timeout | null = null;
  private lastPublishAt = -Infinity;
  /** The instance entries as last published (key → value): what the node's state holds. */
  private readonly published = new Map<string, Uint8Array>();
  /** Each record's entry value, encoded once (records are frozen and kept while unchanged). */
  private readonly encoded = new WeakMap<LocalInstanceRecord, Uint8Array>();
  /** The checks entries as last published, by key `c:<id>`. */
  private readonly publishedChecks = new Map<string, HeldChecks>();
  /** Publishes the output changes held back by checkOutputIntervalMs once they fall due. */
  private outputTimer: NodeJS.Timeout | null = null;
  private outputDueAt = Infinity;
  private readonly feed: RegistryFeed;
  private closed = false;
  /** Definitions to keep across restarts, by instance id (registrations with persist: true). */
  private readonly persisted = new Map<string, ServiceDefinition>();
  /** Every registration as it was made, by instance id, to undo a change that could not be saved. */
  private readonly made = new Map<string, { readonly def: ServiceDefinition; readonly persist: boolean }>();
  /** The save the latest persisted change started. */
  private lastSave: Promise<void> = Promise.resolve();
  /** Durable changes run one at a time, so an undo restores exactly what was there. */
  private durableChain: Promise<unknown> = Promise.resolve();
  readonly counters = { publishes: 0, publishesCoalesced: 0, checkRuns: 0, deregisteredCritical: 0, checkDetailsRefused: 0 };

  constructor(
    private readonly host: ServiceRuntimeHost,
    private readonly publishIntervalMs: number,
    readonly limits: ServiceLimits = { maxInstancesPerNode: 1000, maxInstanceBytes: 4096 },
    /** How often a check's output alone is published again (a status change goes at once). */
    private readonly checkOutputIntervalMs: number = DEFAULT_CHECK_OUTPUT_INTERVAL_MS,
  ) {
    this.feed = new RegistryFeed(this.index, host.nodeName);
    this.feed.onChecks = (node, serviceId, checks) => host.emit({ type: 'instance-checks', node, serviceId, checks });
    this.randomPicker = new RandomPicker(host.random);
    this.runner = new CheckRunner(
      (id, status, output) => this.onCheckResult(id, status, output),
      (err) => host.log.error({ err }, 'handling a check result failed'),
    );
    this.index.onInvalidPayload = (member, reason) => host.log.debug({ member, reason }, 'ignoring an invalid service payload');
    this.index.onListenerError = (err) => host.log.error({ err }, 'a service change listener threw');
    this.index.onChange((name, index) => {
      const all = this.index.lookup(name, { status: 'any' });
      const passing = this.index.lookup(name);
      host.emit({ type: 'service-change', name, index, instances: all.length, passing: passing.length });
    });
  }

  /**
   * The entries the node's state starts with (its registrations so far), taken as published: a
   * core made with them holds what this runtime last published.
   */
  startEntries(): { key: string; value: Uint8Array }[] {
    this.published.clear();
    this.publishedChecks.clear();
    const out: { key: string; value: Uint8Array }[] = [];
    for (const r of this.local.records()) {
      const e = { key: instanceKey(r.id), value: this.entryOf(r) };
      this.published.set(e.key, e.value);
      out.push(e);
    }
    const plan = planChecks(this.publishedChecks, this.local.checks(), this.host.now(), this.checkOutputIntervalMs);
    for (const c of plan.changes) if (c.value !== null) out.push({ key: c.key, value: c.value });
    this.heldChecks(plan.held);
    return out;
  }

  // ------------------------------------------------------------------ writes

  register(def: ServiceDefinition, options: { persist?: boolean } = {}): ServiceInstance {
    this.assertOpen('register');
    if (typeof def.name === 'string') this.host.allowService?.(def.name);
    const service = this.local.register(def, () => this.host.freshId(), this.host.now(), (records) =>
      this.checkLimits(records, `registering instance "${def.id ?? '(new)'}" of "${String(def.name)}"`),
    );
    const hadPersisted = this.persisted.delete(service.record.id);
    if (options.persist === true) this.persisted.set(service.record.id, { ...def, id: service.record.id });
    this.made.set(service.record.id, { def: { ...def, id: service.record.id }, persist: options.persist === true });
    if (options.persist === true || hadPersisted) this.save();
    for (const spec of service.checks) this.runner.start(spec);
    // A replaced registration may have dropped checks.
    for (const c of this.runner.ids()) if (this.local.check(c) === undefined) this.runner.stop(c);
    this.changed();
    this.armReaper();
    this.host.log.info({ service: service.record.name, id: service.record.id, checks: service.checks.length }, 'service registered');
    return this.toInstance(service.record);
  }

  deregister(id: string): boolean {
    const service = this.local.service(id);
    if (service === undefined) return false;
    for (const c of service.checks) this.runner.stop(c.id);
    this.local.deregister(id);
    this.made.delete(id);
    if (this.persisted.delete(id)) this.save();
    this.changed();
    this.host.log.info({ service: service.record.name, id }, 'service deregistered');
    return true;
  }

  /**
   * register() with persist, resolving only once the change is durable in the data dir; when it
   * cannot be saved the change is undone (the previous registration of that id, or none, is back)
   * and the promise rejects with PersistError. Without a data dir it is register().
   */
  registerDurably(def: ServiceDefinition): Promise<ServiceInstance> {
    return this.durably(async () => {
      const prev = typeof def.id === 'string' ? this.made.get(def.id) : undefined;
      this.lastSave = Promise.resolve();
      const inst = this.register(def, { persist: true });
      try {
        await this.lastSave;
      } catch (err) {
        this.undo(inst.id, prev);
        throw err;
      }
      return inst;
    });
  }

  /** deregister() that resolves once the removal is durable; undone (and rejecting) when it cannot be saved. */
  deregisterDurably(id: string): Promise<boolean> {
    return this.durably(async () => {
      const prev = this.made.get(id);
      this.lastSave = Promise.resolve();
      if (!this.deregister(id)) return false;
      try {
        await this.lastSave;
      } catch (err) {
        this.undo(id, prev);
        throw err;
      }
      return true;
    });
  }

  private durably<T>(op: () => Promise<T>): Promise<T> {
    const run = this.durableChain.then(op, op);
    this.durableChain = run.catch(() => undefined);
    return run;
  }

  /** Puts back what `id` was before a change that could not be saved (its save may fail too: logged). */
  private undo(id: string, prev: { readonly def: ServiceDefinition; readonly persist: boolean } | undefined): void {
    if (prev === undefined) this.deregister(id);
    else this.register(prev.def, { persist: prev.persist });
    this.host.log.warn({ id }, 'undid a registration change that could not be saved in the data dir');
  }

  private save(): void {
    const p = this.host.persist?.([...this.persisted.values()]);
    if (p !== undefined) {
      this.lastSave = p;
      p.catch(() => undefined); // the error is logged where it happens; durable callers see it through lastSave
    }
  }

  /** A TTL check's update from its application. Throws UnknownServiceError for an unknown id. */
  updateTtl(checkId: string, status: CheckStatus, note = ''): void {
    const spec = this.local.check(checkId);
    if (spec === undefined) throw new UnknownServiceError('check', checkId, "list this agent's checks with GET /v1/checks");
    if (spec.kind !== 'ttl') {
      throw new UnknownServiceError('check', checkId, `it is a ${spec.kind} check, which the agent runs itself; only ttl checks take pass, warn and fail`);
    }
    this.runner.renewTtl(checkId);
    this.onCheckResult(checkId, status, note);
  }

  /** Maintenance on one instance (serviceId) or the whole node; reason undefined turns it off. */
  setMaintenance(enable: boolean, serviceId?: string, reason = 'maintenance mode'): void {
    const changed = serviceId === undefined ? this.local.setNodeMaintenance(enable ? reason : undefined) : this.local.setServiceMaintenance(serviceId, enable ? reason : undefined);
    this.host.log.info({ serviceId, enable, reason }, 'maintenance');
    if (changed) this.changed();
  }

  // ------------------------------------------------------------------ reads

  lookup(name: string, options?: LookupOptions): readonly ServiceInstance[] {
    return this.index.lookup(name, options);
  }

  pick(name: string, options: PickOptions = {}): ServiceInstance | undefined {
    const list = this.index.lookup(name, options.tags === undefined ? {} : { tags: options.tags });
    const suspect = (i: ServiceInstance): boolean => this.index.isOnSuspectNode(i);
    if (options.strategy === 'random') return this.randomPicker.pick(list, suspect);
    const key = options.tags === undefined || options.tags.length === 0 ? name : `${name}\u0000${options.tags.join('\u0000')}`;
    return this.roundRobin.pick(key, list, suspect);
  }

  services(): ServiceSummary[] {
    return this.index.services();
  }

  localServices(): LocalService[] {
    return this.local.services();
  }

  /** The definitions registered with persist: true, still registered. */
  persistedDefinitions(): ServiceDefinition[] {
    return [...this.persisted.values()];
  }

  checks(): CheckInfo[] {
    return this.local.checks();
  }

  /** The checks of `node`'s instances: this agent's own in full, another node's as it published them. */
  nodeChecks(node: string): readonly CheckInfo[] {
    return node === this.host.nodeName ? this.local.checks() : this.feed.checksOf(node);
  }

  /** Calls `listener` with a snapshot, then with every change of the result. Returns a stop function. */
  subscribe(name: string, options: LookupOptions, userListener: (u: ServiceWatchUpdate) => void): () => void {
    const listener = (u: ServiceWatchUpdate): void => {
      try {
        userListener(u);
      } catch (err) {
        this.index.counters.listenerErrors++;
        this.host.log.error({ err, service: name }, 'a service change listener threw');
      }
    };
    let last = this.index.lookup(name, options);
    listener({ name, index: this.index.indexOf(name), instances: last, added: [...last], removed: [], updated: [], snapshot: true });
    return this.index.onChange((changed, index) => {
      if (changed !== name) return;
      const next = this.index.lookup(name, options);
      const diff = diffInstances(last, next);
      if (!hasChanges(diff)) return;
      last = next;
      listener({ name, index, instances: next, ...diff, snapshot: false });
    });
  }

  /**
   * A snapshot, then every change, as an async iterator. A slow consumer gets coalesced updates
   * (the diff from what it saw last to now), so memory stays bounded. Ends on abort or close.
   */
  watch(name: string, options: WatchOptions = {}): AsyncIterableIterator<ServiceWatchUpdate> {
    const { signal, ...lookup } = options;
    let delivered: readonly ServiceInstance[] = [];
    let first = true;
    let dirty = true;
    let ended = false;
    // Everyone waiting in next() (a caller may call next() again before the last one resolved).
    const waiting: (() => void)[] = [];
    const wake = (): void => {
      for (const w of waiting.splice(0)) w();
    };
    const stop = this.index.onChange((changed) => {
      if (changed !== name) return;
      dirty = true;
      wake();
    });
    const end = (): void => {
      ended = true;
      stop();
      this.watchers.delete(end);
      signal?.removeEventListener('abort', end);
      wake();
    };
    this.watchers.add(end);
    signal?.addEventListener('abort', end);
    if (signal?.aborted === true || this.closed) end();
    const index = this.index;
    const iterator: AsyncIterableIterator<ServiceWatchUpdate> = {
      async next(): Promise<IteratorResult<ServiceWatchUpdate>> {
        for (;;) {
          if (ended) return { done: true, value: undefined };
          if (dirty) {
            dirty = false;
            const now = index.lookup(name, lookup);
            const diff = diffInstances(delivered, now);
            if (first || hasChanges(diff)) {
              const snapshot = first;
              first = false;
              delivered = now;
              return { done: false, value: { name, index: index.indexOf(name), instances: now, ...diff, snapshot } };
            }
          }
          await new Promise<void>((resolve) => waiting.push(resolve));
        }
      },
      return(): Promise<IteratorResult<ServiceWatchUpdate>> {
        end();
        return Promise.resolve({ done: true, value: undefined });
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  private readonly watchers = new Set<() => void>();

  // ------------------------------------------------------------------ membership

  /** A membership event or state update: other nodes' instances move in or out of the index. */
  onMembershipEvent(event: MembershipEvent): void {
    this.feed.onEvent(event);
  }

  /** Puts this node's own instances in the index (at start and after every local change). */
  refreshSelf(): void {
    this.index.setNode(this.host.nodeName, 'alive', this.host.advertiseHost(), this.local.records());
  }

  close(): void {
    this.closed = true;
    this.runner.stopAll();
    if (this.publishTimer !== null) clearTimeout(this.publishTimer);
    if (this.reapTimer !== null) clearInterval(this.reapTimer);
    if (this.outputTimer !== null) clearTimeout(this.outputTimer);
    this.outputTimer = null;
    this.publishTimer = null;
    this.reapTimer = null;
    for (const end of [...this.watchers]) end();
  }

  // ------------------------------------------------------------------ internals

  private assertOpen(what: string): void {
    if (this.closed) throw new AgentClosedError(what);
  }

  private toInstance(r: LocalInstanceRecord): ServiceInstance {
    return Object.freeze({
      id: r.id,
      name: r.name,
      node: this.host.nodeName,
      address: r.address === '' ? this.host.advertiseHost() : r.address,
      port: r.port,
      tags: r.tags,
      meta: r.meta,
      status: r.status,
    });
  }

  private onCheckResult(checkId: string, status: CheckStatus, output: string): void {
    if (this.closed) return;
    this.counters.checkRuns++;
    const before = this.local.checkStatus(checkId);
    if (before === undefined) return; // deregistered while it ran
    const changed = this.local.reportCheck(checkId, status, output, this.host.now());
    const after = this.local.checkStatus(checkId);
    if (after !== undefined && after.status !== before.status) {
      this.host.emit({ type: 'check-update', check: checkId, serviceId: after.serviceId, status: after.status, output: after.output });
      // Critical is what an operator must see: at warn, with what the check said.
      const fields = { check: checkId, serviceId: after.serviceId, from: before.status, status: after.status };
      if (after.status === 'critical') this.host.log.warn({ ...fields, output: after.output }, 'check critical');
      else this.host.log.info(fields, 'check status changed');
      // The check's own status is in its instance's checks entry even when the instance's did not move.
      this.changed();
      return;
    }
    if (changed) this.changed();
    else if (after !== undefined && after.output !== before.output) this.publishOutputWhenDue(after.serviceId);
  }

  /**
   * An output of instance `serviceId` changed alone: publish when checkOutputIntervalMs allows since
   * that instance's checks entry was last published (publishNow decides what is due). O(1): a
   * check run does not re-encode every check of the node.
   */
  private publishOutputWhenDue(serviceId: string): void {
    const due = (this.publishedChecks.get(checksKey(serviceId))?.at ?? -Infinity) + this.checkOutputIntervalMs;
    if (due <= this.host.now()) this.changed();
    else this.armOutputTimer(due);
  }

  private armOutputTimer(at: number): void {
    if (this.closed || (this.outputTimer !== null && this.outputDueAt <= at)) return;
    if (this.outputTimer !== null) clearTimeout(this.outputTimer);
    this.outputDueAt = at;
    this.outputTimer = setTimeout(() => {
      this.outputTimer = null;
      this.outputDueAt = Infinity;
      this.changed();
    }, Math.max(0, at - this.host.now()));
    this.outputTimer.unref();
  }

  /**
   * A local change: refresh this node's index entry now; publish now if nothing was published
   * within the interval, else once at its end (with whatever the state is then). Registrations
   * are no exception: a client looping register/deregister gets the same one-per-interval.
   */
  private changed(): void {
    this.refreshSelf();
    if (this.closed) return;
    const t = this.host.now();
    if (t - this.lastPublishAt >= this.publishIntervalMs && this.publishTimer === null) {
      this.publishNow();
      return;
    }
    this.counters.publishesCoalesced++;
    if (this.publishTimer !== null) return;
    const wait = Math.max(0, this.publishIntervalMs - (t - this.lastPublishAt));
    this.publishTimer = setTimeout(() => {
      this.publishTimer = null;
      this.publishNow();
    }, wait);
    this.publishTimer.unref();
  }

  private publishNow(): void {
    if (this.closed) return;
    const t = this.host.now();
    const instances = instanceChanges(this.published, this.local.records(), (r) => this.entryOf(r));
    const plan = this.fittingChecks(instances, planChecks(this.publishedChecks, this.local.checks(), t, this.checkOutputIntervalMs));
    const changes = [...instances, ...plan.changes];
    if (plan.nextDueAt !== null) this.armOutputTimer(plan.nextDueAt);
    if (changes.length === 0) return;
    this.host.publish(changes);
    for (const c of instances) {
      if (c.value === null) this.published.delete(c.key);
      else this.published.set(c.key, c.value);
    }
    this.heldChecks(plan.held);
    this.lastPublishAt = t;
    this.counters.publishes++;
  }

  /**
   * The plan's changes that fit the node's state beside `instances`: all of them, or else those of
   * entries already published (updates, removals), or else only the removals. The details are for
   * display; the instances are what must spread, and their registration was checked against the limits.
   */
  private fittingChecks(instances: readonly EntryChange[], plan: ChecksPlan): ChecksPlan {
    if (plan.changes.length === 0) return plan;
    const tries: ((c: EntryChange) => boolean)[] = [() => true, (c) => c.value === null || this.publishedChecks.has(c.key), (c) => c.value === null];
    for (const keep of tries) {
      const changes = plan.changes.filter(keep);
      try {
        this.host.checkEntries([...instances, ...changes], 'publishing check details');
      } catch (err) {
        if (err instanceof ServiceLimitError) continue;
        throw err;
      }
      if (changes.length < plan.changes.length && this.counters.checkDetailsRefused++ === 0) {
        this.host.log.warn("this node's state has no room for all its check details: other agents show some instances' combined health only");
      }
      const kept = new Set(changes.map((c) => c.key));
      return { changes, held: new Map([...plan.held].filter(([key]) => kept.has(key))), nextDueAt: plan.nextDueAt };
    }
    this.counters.checkDetailsRefused++;
    return { changes: [], held: new Map(), nextDueAt: plan.nextDueAt };
  }

  private heldChecks(changed: ReadonlyMap<string, HeldChecks | null>): void {
    for (const [key, held] of changed) {
      if (held === null) this.publishedChecks.delete(key);
      else this.publishedChecks.set(key, held);
    }
  }

  private entryOf(r: LocalInstanceRecord): Uint8Array {
    let v = this.encoded.get(r);
    if (v === undefined) {
      v = encodeInstanceEntry(r);
      this.encoded.set(r, v);
    }
    return v;
  }

  /** Throws ServiceLimitError when `records` (what the node would hold) break a limit. */
  private checkLimits(records: readonly LocalInstanceRecord[], what: string): void {
    const { maxInstancesPerNode, maxInstanceBytes } = this.limits;
    if (records.length > maxInstancesPerNode) {
      throw new ServiceLimitError(what, 'maxInstancesPerNode', maxInstancesPerNode, records.length, 'deregister instances on this node, or raise maxInstancesPerNode');
    }
    for (const r of records) {
      const bytes = Buffer.byteLength(instanceKey(r.id)) + this.entryOf(r).length;
      if (bytes > maxInstanceBytes) {
        throw new ServiceLimitError(`${what}: instance "${r.id}" takes ${bytes} bytes`, 'maxInstanceBytes', maxInstanceBytes, bytes, 'trim its tags and meta, shorten its id, or raise maxInstanceBytes');
      }
    }
    this.host.checkEntries(instanceChanges(this.published, records, (r) => this.entryOf(r)), what);
  }

  private armReaper(): void {
    if (this.reapTimer !== null) return;
    this.reapTimer = setInterval(() => {
      for (const id of this.local.expiredCritical(this.host.now())) {
        const check = this.local.service(id)?.checks.find((c) => c.deregisterCriticalAfterMs !== undefined)?.id ?? '';
        this.host.log.warn({ serviceId: id, check }, 'deregistering an instance whose check stayed critical past deregisterCriticalAfter');
        this.counters.deregisteredCritical++;
        this.deregister(id);
        this.host.emit({ type: 'service-deregistered-critical', serviceId: id, check });
      }
    }, 1000);
    this.reapTimer.unref();
  }
}
