/**
 * The agent's use of its data dir (the file formats are in data-dir.ts): what an earlier run left
 * (the peer snapshot, the saved service definitions) read once when the agent is created; the peer
 * snapshot written periodically while running and once more on close; the saved definitions
 * rewritten after every change, the latest list winning, one write at a time. Without a data dir
 * every method is a no-op.
 */
import type { Logger } from 'pino';
import type { ServiceDefinition } from '../registry/local.js';
import { makeServicesFile, makeSnapshot, readServices, readSnapshot, SERVICES_FILE, SnapshotWriter, type Snapshot } from './data-dir.js';
import type { MemberRecord } from '../wire/messages.js';
import type { ServiceRuntime } from './services.js';

/** What a peer snapshot is made of. */
export interface SnapshotSource {
  readonly name: string;
  readonly incarnation: number;
  readonly records: readonly MemberRecord[];
}

export class Persistence {
  /** The peer snapshot an earlier run wrote, if it could be read. */
  readonly snapshot: Snapshot | null;
  /** Service definitions an earlier run saved, to be registered again at start. */
  readonly savedServices: readonly unknown[];
  readonly counters = { writes: 0, errors: 0 };

  private readonly peers: SnapshotWriter | null;
  private readonly services: SnapshotWriter | null;
  private pendingServices: readonly ServiceDefinition[] | null = null;
  private servicesSaving: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private snapshotSource: (() => SnapshotSource) | null = null;
  private readonly readProblems: readonly { path: string; problem: string; what: string }[];
  private log: Logger;
  /** While true, saveServices() is ignored (the list is being rebuilt from the saved one). */
  private restoring = false;

  /** Reads what an earlier run left in `dir`; problems are logged by `attach`. */
  constructor(dir: string | undefined, log: Logger) {
    this.log = log;
    const read = dir === undefined ? null : readSnapshot(dir);
    this.snapshot = read?.kind === 'ok' ? read.snapshot : null;
    const saved = dir === undefined ? ({ kind: 'none' } as const) : readServices(dir);
    this.savedServices = saved.kind === 'ok' ? saved.services : [];
    this.peers = dir === undefined ? null : new SnapshotWriter(dir);
    this.services = dir === undefined ? null : new SnapshotWriter(dir, SERVICES_FILE);
    this.readProblems = [
      ...(read?.kind === 'invalid' ? [{ path: read.path, problem: read.problem, what: 'ignoring an unreadable data-dir snapshot' }] : []),
      ...(saved.kind === 'invalid' ? [{ path: saved.path, problem: saved.problem, what: 'ignoring an unreadable saved-services file' }] : []),
    ];
  }

  /** Takes the agent's logger (the node name may come from the snapshot) and logs what could not be read. */
  attach(log: Logger): void {
    this.log = log;
    for (const p of this.readProblems) log.warn({ path: p.path, problem: p.problem }, p.what);
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
        this.log.warn({ err, definition: def }, 'could not register a service saved by an earlier run; dropping it');
      }
    }
    this.restoring = false;
    this.saveServices(registry.persistedDefinitions());
  }

  /**
   * Saves the persisted definitions: the latest list wins, one write at a time (an older list can
   * never land after a newer one), nothing while restoring.
   */
  saveServices(definitions: readonly ServiceDefinition[]): void {
    if (this.services === null || this.restoring) return;
    this.pendingServices = definitions;
    this.servicesSaving ??= this.flushServices(this.services);
  }

  private async flushServices(writer: SnapshotWriter): Promise<void> {
    try {
      await writer.prepare();
      while (this.pendingServices !== null) {
        const next = this.pendingServices;
        this.pendingServices = null;
        if (await writer.write(makeServicesFile(next))) this.counters.writes++;
      }
    } catch (err) {
      this.counters.errors++;
      this.log.warn({ err }, 'could not save the registered services in the data dir');
    } finally {
      this.servicesSaving = null;
    }
  }

  /** Stops the periodic snapshot, waits for saves in flight and, if the agent ran, writes the snapshot once more. */
  async close(wasRunning: boolean): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.servicesSaving;
    if (wasRunning) await this.saveSnapshot();
  }
}
