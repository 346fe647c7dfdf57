/**
 * The agent's use of its data dir (the file formats are in data-dir.ts):
 *
 * - Read once when the agent is created: the peer snapshot and the saved service definitions.
 *   Temporary files a crash left behind are removed. A damaged file is never silently replaced:
 *   a damaged services.json (it holds registrations that were acknowledged) stops the agent with
 *   DamagedDataFileError, naming the file and what to do; a damaged peers.json (only a hint for
 *   rejoining) is moved aside to peers.json.damaged-TIME and logged at error.
 * - The saved definitions are rewritten after every change, the latest list winning, one write
 *   at a time; `saveServices()` resolves once that list (or a later one) is durable on disk, so
 *   the API answers a registration only after it would survive a crash (kill -9, power loss).
 * - The peer snapshot is written periodically while running and once more on close.
 *
 * Without a data dir every method is a no-op.
 */
import type { Logger } from '../log/logger.js';
import { DamagedDataFileError, PersistError } from '../errors.js';
import type { ServiceDefinition } from '../registry/local.js';
import type { MemberRecord } from '../wire/messages.js';
import {
  makeServicesFile,
  makeSnapshot,
  moveAside,
  readServices,
  readSnapshot,
  removeStaleTemporaries,
  SERVICES_FILE,
  SnapshotWriter,
  type Snapshot,
} from './data-dir.js';
import type { ServiceRuntime } from './services.js';

/** What a peer snapshot is made of. */
export interface SnapshotSource {
  readonly name: string;
  readonly incarnation: number;
  readonly records: readonly MemberRecord[];
}

interface Waiter {
  readonly generation: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class Persistence {
  /** The peer snapshot an earlier run wrote, if it could be read. */
  readonly snapshot: Snapshot | null;
  /** Service definitions an earlier run saved, to be registered again at start. */
  readonly savedServices: readonly unknown[];
  readonly counters = { writes: 0, errors: 0 };

  private readonly peers: SnapshotWriter | null;
  private readonly services: SnapshotWriter | null;
  private readonly notes: readonly { readonly level: 'warn' | 'error'; readonly fields: object; readonly msg: string }[];
  private log: Logger;
  private timer: NodeJS.Timeout | null = null;
  private snapshotSource: (() => SnapshotSource) | null = null;
  /** While true, saveServices() only records the list (it is being rebuilt from the saved one). */
  private restoring = false;
  /** The latest list asked for and its generation (each save is one generation). */
  private pending: readonly ServiceDefinition[] | null = null;
  private generation = 0;
  private saving: Promise<void> | null = null;
  private readonly waiters: Waiter[] = [];

  /** Reads what an earlier run left in `dir`; throws DamagedDataFileError for a damaged services.json. */
  constructor(dir: string | undefined, log: Logger) {
    this.log = log;
    const notes: { level: 'warn' | 'error'; fields: object; msg: string }[] = [];
    if (dir !== undefined) {
      const stale = removeStaleTemporaries(dir);
      if (stale.length > 0) notes.push({ level: 'warn', fields: { files: stale }, msg: 'removed temporary files an interrupted write left in the data dir' });
    }
    const saved = dir === undefined ? ({ kind: 'none' } as const) : readServices(dir);
    if (saved.kind === 'invalid') throw new DamagedDataFileError(saved.path, saved.problem);
    this.savedServices = saved.kind === 'ok' ? saved.services : [];
    const read = dir === undefined ? null : readSnapshot(dir);
    if (read?.kind === 'invalid') {
      const aside = moveAside(read.path);
      notes.push({ level: 'error', fields: { path: read.path, movedTo: aside, problem: read.problem }, msg: `the peer snapshot was damaged (${read.problem}): moved aside to ${aside}; this start rejoins through its seeds` });
    }
    this.snapshot = read?.kind === 'ok' ? read.snapshot : null;
    this.peers = dir === undefined ? null : new SnapshotWriter(dir);
    this.services = dir === undefined ? null : new SnapshotWriter(dir, SERVICES_FILE);
    this.notes = notes;
  }

  /** Takes the agent's logger (the node name may come from the snapshot) and logs what was found at creation. */
  attach(log: Logger): void {
    this.log = log;
    for (const n of this.notes) log[n.level](n.fields, n.msg);
  }

  /** Creates the directory, so that a bad data dir fails start() rather than a write minutes later. */
  async prepare(): Promise<void> {
    await this.peers?.prepare();
  }

  /** Writes the peer snapshot every `everyMs` while running. */
  startSnapshots(everyMs: number, records: () => SnapshotSource): void {
    if (this.peers === null) return;
    this.snapshotSource = records;
    this.timer = setInterval(() => void this.saveSnapshot(), everyMs);
    this.timer.unref();
  }

  async saveSnapshot(): Promise<void> {
    if (this.peers === null || this.snapshotSource === null) return;
    const { name, incarnation, records } = this.snapshotSource();
    try {
      if (await this.peers.write(makeSnapshot(name, incarnation, records))) this.counters.writes++;
    } catch (err) {
      this.counters.errors++;
      this.log.warn({ err }, 'could not write the data-dir snapshot');
    }
  }

  /**
   * Registers again what an earlier run saved (unless already registered, e.g. from a config file),
   * then writes back what was kept: a saved definition that no longer validates is dropped.
   */
  restoreServices(registry: Pick<ServiceRuntime, 'register' | 'local' | 'persistedDefinitions'>): void {
    if (this.savedServices.length === 0) return;
    this.restoring = true;
    for (const def of this.savedServices) {
      const id = (def as { id?: unknown } | null)?.id;
      if (typeof id === 'string' && registry.local.has(id)) continue;
      try {
        const inst = registry.register(def as ServiceDefinition, { persist: true });
        this.log.info({ service: inst.name, id: inst.id }, 'registered a service saved by an earlier run');
      } catch (err) {
        this.log.error({ err, definition: def }, 'could not register a service saved by an earlier run; dropping it');
      }
    }
    this.restoring = false;
    void this.saveServices(registry.persistedDefinitions()).catch(() => undefined);
  }

  /**
   * Saves the persisted definitions: the latest list wins, one write at a time (an older list can
   * never land after a newer one). Resolves once this list, or a later one, is durable on disk;
   * rejects with PersistError when the write failed (a full disk, a read-only file system).
   */
  saveServices(definitions: readonly ServiceDefinition[]): Promise<void> {
    if (this.services === null || this.restoring) return Promise.resolve();
    this.pending = definitions;
    const generation = ++this.generation;
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ generation, resolve, reject }));
    this.saving ??= this.flushServices(this.services);
    return done;
  }

  private async flushServices(writer: SnapshotWriter): Promise<void> {
    try {
      while (this.pending !== null) {
        const next = this.pending;
        const generation = this.generation;
        this.pending = null;
        try {
          await writer.prepare();
          if (await writer.write(makeServicesFile(next))) this.counters.writes++;
          this.settle(generation, null);
        } catch (err) {
          this.counters.errors++;
          this.log.error({ err }, 'could not save the registered services in the data dir');
          this.settle(generation, new PersistError(writer.dir, err));
        }
      }
    } finally {
      this.saving = null;
    }
  }

  /** Settles every waiter up to `generation`: resolved when written, rejected with `error`. */
  private settle(generation: number, error: Error | null): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i] as Waiter;
      if (w.generation > generation) continue;
      this.waiters.splice(i, 1);
      if (error === null) w.resolve();
      else w.reject(error);
    }
  }

  /** Stops the periodic snapshot, waits for saves in flight and, if the agent ran, writes the snapshot once more. */
  async close(wasRunning: boolean): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.saving;
    if (wasRunning) await this.saveSnapshot();
  }
}
