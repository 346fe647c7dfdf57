/**
 * The registry's write side on one node: the instances this agent registered, their checks'
 * latest results, and maintenance flags, folded into the records its state payload carries.
 *
 * Pure: the agent runs the checks (agent/checks.ts) and reports results here with `now`; this
 * module decides the statuses. An instance's status is `maintenance` when it or the node is in
 * maintenance, else the worst of its checks (critical > warning > passing), `passing` when it has
 * none. A check starts `critical` (unless its definition says otherwise) so that a new instance
 * receives no traffic before its first check passes. `successBeforePassing` and
 * `failuresBeforeCritical` damp a flapping check.
 */
import { InvalidServiceError, UnknownServiceError } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import type { HealthStatus, LocalInstanceRecord } from './types.js';
import { addressProblem, idProblem, metaProblems, nameProblem, portProblem, REGISTRY_LIMITS, shown, tagsProblems } from './validate.js';

/** A duration: milliseconds, or a string such as "10s", "500ms", "1m". */
export type Duration = number | string;

export type CheckStatus = 'passing' | 'warning' | 'critical';

export interface CheckDefinition {
  /** @default `service:<instance id>` for the first check, `service:<instance id>:<n>` after */
  readonly id?: string;
  /** Passing while the application reports within this long (PUT /v1/checks/:id/pass). */
  readonly ttl?: Duration;
  /** GET this URL: 2xx passing, 429 warning, anything else (or no answer) critical. */
  readonly http?: string;
  /** Connect to HOST:PORT: connected is passing, else critical. */
  readonly tcp?: string;
  /** Run this (a shell command line, or an argv array): exit 0 passing, 1 warning, else critical. */
  readonly command?: string | readonly string[];
  /** Between runs (not for ttl). @default "10s" */
  readonly interval?: Duration;
  /** A run's deadline; past it the run is critical. @default "5s" */
  readonly timeout?: Duration;
  /** Deregister the instance once this check has been critical this long. @default never */
  readonly deregisterCriticalAfter?: Duration;
  /** The status before the first result. @default "critical" */
  readonly status?: CheckStatus;
  /** Consecutive passing results needed to go from not passing to passing. @default 1 */
  readonly successBeforePassing?: number;
  /** Consecutive failing results needed to go from passing to warning or critical. @default 1 */
  readonly failuresBeforeCritical?: number;
}

export interface ServiceDefinition {
  /** @default a fresh id (the agent's: hyperid's form) */
  readonly id?: string;
  readonly name: string;
  readonly port: number;
  /** @default the agent's advertise address */
  readonly address?: string;
  readonly tags?: readonly string[];
  readonly meta?: Readonly<Record<string, string>>;
  readonly checks?: readonly CheckDefinition[];
}

export type CheckKind = 'ttl' | 'http' | 'tcp' | 'command';

/** A check after validation, durations in ms. */
export interface CheckSpec {
  readonly id: string;
  readonly serviceId: string;
  readonly kind: CheckKind;
  /** The URL, HOST:PORT or command (argv array, or [shell line] when `shell`). */
  readonly target: string | readonly string[];
  readonly shell: boolean;
  readonly ttlMs: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly deregisterCriticalAfterMs: number | undefined;
  readonly initialStatus: CheckStatus;
  readonly successBeforePassing: number;
  readonly failuresBeforeCritical: number;
}

export interface CheckInfo {
  readonly id: string;
  readonly serviceId: string;
  readonly kind: CheckKind;
  readonly status: CheckStatus;
  /** The last run's output or the last TTL note. */
  readonly output: string;
}

export interface LocalService {
  readonly record: LocalInstanceRecord;
  readonly checks: readonly CheckSpec[];
  readonly maintenance: string | undefined;
}

export const CHECK_DEFAULTS = Object.freeze({ intervalMs: 10_000, timeoutMs: 5000 });
/** Longest check output kept (and shown), in characters. */
export const MAX_CHECK_OUTPUT = 4096;
const MAX_CHECKS_PER_SERVICE = 16;

interface CheckState {
  spec: CheckSpec;
  status: CheckStatus;
  output: string;
  /** Consecutive results on the other side of `status`. */
  streak: number;
  criticalSince: number | undefined;
}

interface Entry {
  record: LocalInstanceRecord;
  definition: ServiceDefinition;
  checks: CheckState[];
  maintenance: string | undefined;
}

const STATUS_RANK: Readonly<Record<CheckStatus, number>> = { passing: 0, warning: 1, critical: 2 };

/** Validates a definition; returns every problem at once. `id` is the id to use when none is given. */
export function normalizeService(
  def: unknown,
  freshId: () => string,
): { ok: true; record: LocalInstanceRecord; checks: CheckSpec[]; definition: ServiceDefinition } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  if (typeof def !== 'object' || def === null || Array.isArray(def)) {
    return { ok: false, problems: ['a service definition is an object such as {"name": "billing", "port": 8080}'] };
  }
  const d = def as Record<string, unknown>;
  const known = new Set(['id', 'name', 'port', 'address', 'tags', 'meta', 'checks']);
  for (const k of Object.keys(d)) if (!known.has(k)) problems.push(`unknown field "${k}": the fields are ${[...known].join(', ')}`);
  const id = d.id === undefined ? freshId() : d.id;
  const p1 = idProblem(id);
  if (p1 !== undefined) problems.push(p1);
  const p2 = nameProblem(d.name);
  if (p2 !== undefined) problems.push(p2);
  const p3 = portProblem(d.port);
  if (p3 !== undefined) problems.push(p3);
  if (d.address !== undefined) {
    const p = d.address === '' ? 'address must not be empty: leave it out to use the agent\'s advertise address' : addressProblem(d.address);
    if (p !== undefined) problems.push(p);
  }
  const tags = d.tags ?? [];
  problems.push(...tagsProblems(tags));
  const meta = d.meta ?? {};
  problems.push(...metaProblems(meta));
  const checks: CheckSpec[] = [];
  if (d.checks !== undefined) {
    if (!Array.isArray(d.checks)) problems.push('checks must be an array, e.g. [{"http": "http://127.0.0.1:8080/health", "interval": "10s"}]');
    else if (d.checks.length > MAX_CHECKS_PER_SERVICE) problems.push(`${d.checks.length} checks: give at most ${MAX_CHECKS_PER_SERVICE}`);
    else {
      const ids = new Set<string>();
      d.checks.forEach((c: unknown, i: number) => {
        const r = normalizeCheck(c, i, typeof id === 'string' ? id : '?');
        if (!r.ok) problems.push(...r.problems);
        else if (ids.has(r.spec.id)) problems.push(`checks[${i}]: id "${r.spec.id}" repeats`);
        else {
          ids.add(r.spec.id);
          checks.push(r.spec);
        }
      });
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  const record: LocalInstanceRecord = Object.freeze({
    id: id as string,
    name: d.name as string,
    address: (d.address as string | undefined) ?? '',
    port: d.port as number,
    tags: Object.freeze([...(tags as string[])]),
    meta: Object.freeze({ ...(meta as Record<string, string>) }),
    status: 'passing' as HealthStatus,
  });
  return { ok: true, record, checks, definition: { ...(d as unknown as ServiceDefinition), id: id as string } };
}

function normalizeCheck(c: unknown, i: number, serviceId: string): { ok: true; spec: CheckSpec } | { ok: false; problems: string[] } {
  const at = `checks[${i}]`;
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return { ok: false, problems: [`${at} must be an object such as {"ttl": "30s"}`] };
  const d = c as Record<string, unknown>;
  const problems: string[] = [];
  const known = new Set(['id', 'ttl', 'http', 'tcp', 'command', 'interval', 'timeout', 'deregisterCriticalAfter', 'status', 'successBeforePassing', 'failuresBeforeCritical']);
  for (const k of Object.keys(d)) if (!known.has(k)) problems.push(`${at}: unknown field "${k}"`);
  const kinds = (['ttl', 'http', 'tcp', 'command'] as const).filter((k) => d[k] !== undefined);
  if (kinds.length !== 1) {
    problems.push(`${at} must have exactly one of ttl, http, tcp or command (it has ${kinds.length === 0 ? 'none' : kinds.join(', ')})`);
    return { ok: false, problems };
  }
  const kind = kinds[0]!;
  const id = d.id ?? (i === 0 ? `service:${serviceId}` : `service:${serviceId}:${i + 1}`);
  const idP = typeof id === 'string' && id.length > 0 && id.length <= 160 && /^[A-Za-z0-9._:~-]+$/.test(id) ? undefined : `${at}: id ${shown(id)} must be 1-160 characters of letters, digits and . _ : ~ -`;
  if (idP !== undefined) problems.push(idP);
  const duration = (field: string, fallback: number | undefined, min: number): number | undefined => {
    const v = d[field];
    if (v === undefined) return fallback;
    const ms = parseDuration(v);
    if (ms === undefined || ms < min || ms > 86_400_000 * 7) {
      problems.push(`${at}: ${field} ${shown(v)} must be a duration of ${min}ms to 7 days, as milliseconds or a string such as "10s" or "500ms"`);
      return fallback;
    }
    return ms;
  };
  let target: string | readonly string[] = '';
  let shell = false;
  let ttlMs = 0;
  if (kind === 'ttl') {
    ttlMs = duration('ttl', 0, 100) ?? 0;
    if (d.interval !== undefined) problems.push(`${at}: a ttl check has no interval (the application reports within the ttl)`);
  } else if (kind === 'http') {
    const u = d.http;
    let ok = false;
    if (typeof u === 'string' && u.length <= 2048) {
      try {
        const url = new URL(u);
        ok = url.protocol === 'http:' || url.protocol === 'https:';
      } catch {
        ok = false;
      }
    }
    if (!ok) problems.push(`${at}: http ${shown(u)} must be an http:// or https:// URL, e.g. "http://127.0.0.1:8080/health"`);
    target = typeof u === 'string' ? u : '';
  } else if (kind === 'tcp') {
    const t = d.tcp;
    if (typeof t !== 'string' || !/^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):\d{1,5}$/.test(t) || Number(t.slice(t.lastIndexOf(':') + 1)) > 65_535 || Number(t.slice(t.lastIndexOf(':') + 1)) < 1) {
      problems.push(`${at}: tcp ${shown(t)} must be "HOST:PORT", e.g. "127.0.0.1:5432"`);
    }
    target = typeof t === 'string' ? t : '';
  } else {
    const cmd = d.command;
    if (typeof cmd === 'string' && cmd.trim().length > 0 && cmd.length <= 4096) {
      target = [cmd];
      shell = true;
    } else if (Array.isArray(cmd) && cmd.length > 0 && cmd.length <= 256 && cmd.every((a) => typeof a === 'string') && (cmd[0] as string).length > 0) {
      target = Object.freeze([...(cmd as string[])]);
    } else {
      problems.push(`${at}: command must be a shell command line or a non-empty argv array, e.g. ["/usr/bin/pg_isready", "-q"]`);
    }
  }
  const intervalMs = kind === 'ttl' ? 0 : (duration('interval', CHECK_DEFAULTS.intervalMs, 100) ?? CHECK_DEFAULTS.intervalMs);
  const timeoutMs = duration('timeout', CHECK_DEFAULTS.timeoutMs, 10) ?? CHECK_DEFAULTS.timeoutMs;
  const deregisterCriticalAfterMs = duration('deregisterCriticalAfter', undefined, 1);
  const status = d.status ?? 'critical';
  if (status !== 'passing' && status !== 'warning' && status !== 'critical') problems.push(`${at}: status must be "passing", "warning" or "critical"`);
  const count = (field: string): number => {
    const v = d[field];
    if (v === undefined) return 1;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 100) {
      problems.push(`${at}: ${field} must be an integer in 1-100`);
      return 1;
    }
    return v;
  };
  const successBeforePassing = count('successBeforePassing');
  const failuresBeforeCritical = count('failuresBeforeCritical');
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    spec: Object.freeze({
      id: id as string,
      serviceId,
      kind,
      target,
      shell,
      ttlMs,
      intervalMs,
      timeoutMs,
      deregisterCriticalAfterMs,
      initialStatus: status as CheckStatus,
      successBeforePassing,
      failuresBeforeCritical,
    }),
  };
}

export class LocalRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly checkIndex = new Map<string, { entry: Entry; state: CheckState }>();
  private nodeMaintenance: string | undefined;
  private cached: readonly LocalInstanceRecord[] | null = null;

  /**
   * Validates and adds (or, for a known id, replaces) an instance. `fits` is asked whether the
   * resulting records still fit the node's state budget and throws when they do not; nothing
   * changes then. Throws InvalidServiceError listing every problem.
   */
  register(def: ServiceDefinition, freshId: () => string, now: number, fits: (records: readonly LocalInstanceRecord[]) => void): LocalService {
    const n = normalizeService(def, freshId);
    if (!n.ok) throw new InvalidServiceError(n.problems);
    const previous = this.entries.get(n.record.id);
    if (previous === undefined && this.entries.size >= REGISTRY_LIMITS.maxInstancesPerNode) {
      throw new InvalidServiceError([`this agent already has ${this.entries.size} instances, the most one node may hold`]);
    }
    for (const c of n.checks) {
      const owner = this.checkIndex.get(c.id);
      if (owner !== undefined && owner.entry.record.id !== n.record.id) {
        throw new InvalidServiceError([`check id "${c.id}" is already used by instance "${owner.entry.record.id}": give the check another id`]);
      }
    }
    const entry: Entry = {
      record: n.record,
      definition: n.definition,
      // Re-registering keeps the state of a check whose definition did not change, so that
      // registering an instance again does not take a healthy instance out of lookups.
      checks: n.checks.map((spec) => {
        const kept = previous?.checks.find((c) => sameCheckSpec(c.spec, spec));
        if (kept !== undefined) return { ...kept, spec };
        return { spec, status: spec.initialStatus, output: '', streak: 0, criticalSince: spec.initialStatus === 'critical' ? now : undefined };
      }),
      maintenance: previous?.maintenance,
    };
    entry.record = withStatus(entry.record, this.statusOf(entry));
    const next = this.recordsWith(entry.record.id, entry);
    fits(next);
    if (previous !== undefined) for (const c of previous.checks) this.checkIndex.delete(c.spec.id);
    this.entries.set(entry.record.id, entry);
    for (const state of entry.checks) this.checkIndex.set(state.spec.id, { entry, state });
    this.cached = null;
    return this.view(entry);
  }

  /** Removes an instance and its checks; false when there was none with that id. */
  deregister(id: string): boolean {
    const entry = this.entries.get(id);
    if (entry === undefined) return false;
    for (const c of entry.checks) this.checkIndex.delete(c.spec.id);
    this.entries.delete(id);
    this.cached = null;
    return true;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Records a check result. Returns true when the owning instance's status changed (so the
   * node's state must be republished). Throws UnknownServiceError for an unknown check id.
   */
  reportCheck(checkId: string, result: CheckStatus, output: string, now: number): boolean {
    const found = this.checkIndex.get(checkId);
    if (found === undefined) throw new UnknownServiceError('check', checkId, 'list the checks with GET /v1/checks or register the service again');
    const { entry, state } = found;
    state.output = output.length > MAX_CHECK_OUTPUT ? `${output.slice(0, MAX_CHECK_OUTPUT)}…` : output;
    let next = state.status;
    if (result === state.status) state.streak = 0;
    else {
      state.streak++;
      const need = result === 'passing' ? state.spec.successBeforePassing : state.status === 'passing' ? state.spec.failuresBeforeCritical : 1;
      if (state.streak >= need) {
        next = result;
        state.streak = 0;
      }
    }
    if (next !== state.status) {
      state.status = next;
      state.criticalSince = next === 'critical' ? now : undefined;
    }
    return this.refresh(entry);
  }

  /** The check's spec, for the runner. */
  check(checkId: string): CheckSpec | undefined {
    return this.checkIndex.get(checkId)?.state.spec;
  }

  checks(): CheckInfo[] {
    return [...this.checkIndex.values()].map(({ state }) => checkInfo(state));
  }

  /** One check's latest status, or undefined for an unknown id. */
  checkStatus(checkId: string): CheckInfo | undefined {
    const found = this.checkIndex.get(checkId);
    return found === undefined ? undefined : checkInfo(found.state);
  }

  /** Sets or clears maintenance on one instance (reason undefined clears). True when its status changed. */
  setServiceMaintenance(id: string, reason: string | undefined): boolean {
    const entry = this.entries.get(id);
    if (entry === undefined) throw new UnknownServiceError('service', id, 'list this agent\'s instances with GET /v1/agent/services');
    entry.maintenance = reason;
    return this.refresh(entry);
  }

  /** Sets or clears node-wide maintenance. True when any instance's status changed. */
  setNodeMaintenance(reason: string | undefined): boolean {
    this.nodeMaintenance = reason;
    let changed = false;
    for (const e of this.entries.values()) changed = this.refresh(e) || changed;
    return changed;
  }

  get nodeInMaintenance(): boolean {
    return this.nodeMaintenance !== undefined;
  }

  /** Why the node is in maintenance; undefined when it is not. */
  get nodeMaintenanceReason(): string | undefined {
    return this.nodeMaintenance;
  }

  /** Instance ids whose check has been critical for longer than its deregisterCriticalAfter. */
  expiredCritical(now: number): string[] {
    const out: string[] = [];
    for (const e of this.entries.values()) {
      for (const c of e.checks) {
        const limit = c.spec.deregisterCriticalAfterMs;
        if (limit !== undefined && c.status === 'critical' && c.criticalSince !== undefined && now - c.criticalSince >= limit) {
          out.push(e.record.id);
          break;
        }
      }
    }
    return out;
  }

  /** The records for the state payload, in registration order. */
  records(): readonly LocalInstanceRecord[] {
    this.cached ??= Object.freeze([...this.entries.values()].map((e) => e.record));
    return this.cached;
  }

  services(): LocalService[] {
    return [...this.entries.values()].map((e) => this.view(e));
  }

  service(id: string): LocalService | undefined {
    const e = this.entries.get(id);
    return e === undefined ? undefined : this.view(e);
  }

  private view(e: Entry): LocalService {
    return { record: e.record, checks: e.checks.map((c) => c.spec), maintenance: e.maintenance ?? this.nodeMaintenance };
  }

  private statusOf(e: Entry): HealthStatus {
    if (e.maintenance !== undefined || this.nodeMaintenance !== undefined) return 'maintenance';
    let worst: CheckStatus = 'passing';
    for (const c of e.checks) if (STATUS_RANK[c.status] > STATUS_RANK[worst]) worst = c.status;
    return worst;
  }

  private refresh(e: Entry): boolean {
    const status = this.statusOf(e);
    if (status === e.record.status) return false;
    e.record = withStatus(e.record, status);
    this.cached = null;
    return true;
  }

  private recordsWith(id: string, entry: Entry): LocalInstanceRecord[] {
    const out: LocalInstanceRecord[] = [];
    let placed = false;
    for (const [k, e] of this.entries) {
      if (k === id) {
        out.push(entry.record);
        placed = true;
      } else out.push(e.record);
    }
    if (!placed) out.push(entry.record);
    return out;
  }
}

function checkInfo(state: CheckState): CheckInfo {
  return { id: state.spec.id, serviceId: state.spec.serviceId, kind: state.spec.kind, status: state.status, output: state.output };
}

/** Whether two checks are the same check: same id and the same definition. */
export function sameCheckSpec(a: CheckSpec, b: CheckSpec): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function withStatus(r: LocalInstanceRecord, status: HealthStatus): LocalInstanceRecord {
  return Object.freeze({ ...r, status });
}
