/**
 * The data dir: a snapshot of the peers this node knew and its last incarnation, so that a
 * restarted agent rejoins without seeds and comes back with a higher incarnation (peers.json);
 * and the service definitions registered through the API, so that a restarted agent serves them
 * again (services.json); and, with a certificate, the newest revocation list it adopted when no
 * --revocations file holds it (revocations.json, agent/revocations.ts).
 *
 * Each is one JSON file, written durably: a temporary file in the same directory, fsynced, renamed
 * over the old one, then the directory fsynced, so that once a write resolves the new file survives
 * a crash or power loss, and a crash mid-write leaves the previous file. Temporary files a crash
 * left behind are removed when the agent starts. Reading never throws: a missing file is "none", a
 * damaged one is reported (what the agent does with it is persistence.ts's policy).
 */
import { readFileSync } from 'node:fs';
import { readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DataDirError } from '../errors.js';
import { MAX_INCARNATION } from '../wire/codec.js';
import type { MemberRecord } from '../wire/messages.js';
import { crypto, fsp } from '../builtins.js';



export const SNAPSHOT_FILE = 'peers.json';
export const SERVICES_FILE = 'services.json';
/** A revocation list adopted from the mesh (agent/revocations.ts), when no --revocations file holds it. */
export const REVOCATIONS_FILE = 'revocations.json';
const SERVICES_VERSION = 1;
const SNAPSHOT_VERSION = 1;
/** Most peers kept in a snapshot: enough to find the cluster again. */
export const MAX_SNAPSHOT_PEERS = 1000;

export interface SnapshotPeer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly incarnation: number;
}

export interface Snapshot {
  readonly version: typeof SNAPSHOT_VERSION;
  /** The node that wrote it. */
  readonly name: string;
  /** Its incarnation when it wrote it. */
  readonly incarnation: number;
  /** Alive and suspect peers (not the node itself). */
  readonly peers: readonly SnapshotPeer[];
}

export type ReadResult =
  | { readonly kind: 'none' }
  | { readonly kind: 'ok'; readonly snapshot: Snapshot; readonly path: string }
  | { readonly kind: 'invalid'; readonly path: string; readonly problem: string };

export function snapshotPath(dir: string): string {
  return join(dir, SNAPSHOT_FILE);
}

/** Reads and validates the snapshot in `dir` (synchronously: once, while the agent is created). */
/** Reads a JSON file of the data dir: none when missing, invalid when unreadable or not JSON. */
function readJsonFile(path: string): { kind: 'none' } | { kind: 'invalid'; path: string; problem: string } | { kind: 'json'; raw: unknown } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'none' }; // nothing there (or the dir path itself is wrong: start() says so)
    return { kind: 'invalid', path, problem: (err as Error).message };
  }
  if (text.trim() === '') return { kind: 'invalid', path, problem: 'the file is empty' };
  try {
    return { kind: 'json', raw: JSON.parse(text) as unknown };
  } catch (err) {
    return { kind: 'invalid', path, problem: `not JSON: ${(err as Error).message}` };
  }
}

export function readSnapshot(dir: string): ReadResult {
  const path = snapshotPath(dir);
  const read = readJsonFile(path);
  if (read.kind !== 'json') return read;
  const raw = read.raw;
  const problem = validate(raw);
  if (problem !== null) return { kind: 'invalid', path, problem };
  return { kind: 'ok', snapshot: raw as Snapshot, path };
}

function isIncarnation(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_INCARNATION;
}

function validate(raw: unknown): string | null {
  if (typeof raw !== 'object' || raw === null) return 'not an object';
  const s = raw as Record<string, unknown>;
  if (s['version'] !== SNAPSHOT_VERSION) return `unknown version ${JSON.stringify(s['version'])}`;
  if (typeof s['name'] !== 'string' || s['name'].length === 0) return 'name missing';
  if (!isIncarnation(s['incarnation'])) return 'incarnation missing or out of range';
  const peers = s['peers'];
  if (!Array.isArray(peers) || peers.length > MAX_SNAPSHOT_PEERS) return 'peers missing or too many';
  for (const p of peers as unknown[]) {
    if (typeof p !== 'object' || p === null) return 'a peer is not an object';
    const q = p as Record<string, unknown>;
    if (typeof q['name'] !== 'string' || typeof q['host'] !== 'string' || q['host'].length === 0) return 'a peer lacks name or host';
    if (!Number.isInteger(q['port']) || (q['port'] as number) < 1 || (q['port'] as number) > 65_535) return 'a peer has a bad port';
    if (!isIncarnation(q['incarnation'])) return 'a peer has a bad incarnation';
  }
  return null;
}

export type ServicesReadResult =
  | { readonly kind: 'none' }
  | { readonly kind: 'ok'; readonly services: readonly unknown[]; readonly path: string }
  | { readonly kind: 'invalid'; readonly path: string; readonly problem: string };

/**
 * Reads the saved service definitions in `dir`. Each is validated again when it is registered,
 * so only the file's shape is checked here.
 */
export function readServices(dir: string): ServicesReadResult {
  const path = join(dir, SERVICES_FILE);
  const read = readJsonFile(path);
  if (read.kind !== 'json') return read;
  const doc = read.raw as { version?: unknown; services?: unknown } | null;
  if (typeof doc !== 'object' || doc === null || doc.version !== SERVICES_VERSION || !Array.isArray(doc.services)) {
    return { kind: 'invalid', path, problem: `not a version ${SERVICES_VERSION} services file` };
  }
  return { kind: 'ok', services: doc.services, path };
}

export function makeServicesFile(services: readonly unknown[]): { version: number; services: readonly unknown[] } {
  return { version: SERVICES_VERSION, services };
}

/** The snapshot of a node's view: its own incarnation and its alive and suspect peers. */
export function makeSnapshot(name: string, incarnation: number, records: readonly MemberRecord[]): Snapshot {
  const peers: SnapshotPeer[] = [];
  for (const r of records) {
    if (r.node === name || (r.status !== 'alive' && r.status !== 'suspect')) continue;
    peers.push({ name: r.node, host: r.addr.host, port: r.addr.port, incarnation: r.incarnation });
    if (peers.length >= MAX_SNAPSHOT_PEERS) break;
  }
  peers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { version: SNAPSHOT_VERSION, name, incarnation, peers };
}

/** How the writer names its temporary files (removed at start when a crash left one behind). */
const TMP_SUFFIX = '.tmp';

/** Makes a rename in `dir` durable: the directory entry itself is flushed. */
async function syncDirectory(dir: string): Promise<void> {
  const fh = await fsp().open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Removes the temporary files an earlier run's crash left in `dir`; returns their names. */
export function removeStaleTemporaries(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const stale = names.filter((n) => [SNAPSHOT_FILE, SERVICES_FILE, REVOCATIONS_FILE].some((f) => n.startsWith(`${f}.`)) && n.endsWith(TMP_SUFFIX));
  for (const n of stale) rmSync(join(dir, n), { force: true });
  return stale;
}

/** Moves a damaged file aside to `NAME.damaged-TIME` (never overwritten); returns the new path. */
export function moveAside(path: string): string {
  const aside = `${path}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(path, aside);
  return aside;
}

/**
 * What is wrong with `dir` as a data dir, or undefined when it is (or can be made) a writable
 * directory: it exists and is a writable directory, or its nearest existing ancestor is. Checked
 * before an agent starts, so that a bad path is one clear error at once.
 */
export async function dataDirProblem(dir: string): Promise<string | undefined> {
  let path = resolve(dir);
  for (;;) {
    try {
      const st = await fsp().stat(path);
      if (!st.isDirectory()) return path === resolve(dir) ? `${dir} exists and is not a directory` : `${path} is not a directory, so ${dir} cannot be created in it`;
      try {
        const { access, constants } = fsp();
        await access(path, constants.W_OK | constants.X_OK);
      } catch {
        return path === resolve(dir) ? `${dir} is not writable by this process` : `${dir} does not exist and ${path} is not writable by this process, so it cannot be created`;
      }
      return undefined;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return `${path} cannot be used (${code ?? String(err)})`;
      const up = dirname(path);
      if (up === path) return `${dir} cannot be created: no part of it exists`;
      path = up;
    }
  }
}

/**
 * Creates `dir` and its missing parents one level at a time (Node's recursive mkdir can loop for
 * ever on some paths, /proc/x among them). Throws DataDirError.
 */
export async function ensureDataDir(dir: string): Promise<void> {
  const problem = await dataDirProblem(dir);
  if (problem !== undefined) throw new DataDirError(dir, new Error(problem));
  const missing: string[] = [];
  for (let path = resolve(dir); ; path = dirname(path)) {
    try {
      await fsp().stat(path);
      break;
    } catch {
      missing.unshift(path);
    }
  }
  for (const path of missing) {
    try {
      await fsp().mkdir(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new DataDirError(dir, err);
    }
  }
}

/**
 * Writes one JSON file of a directory (the peer snapshot by default), one write at a time, skipping a snapshot equal to the last one
 * written. `write` rejects with DataDirError.
 */
export class SnapshotWriter {
  private last = '';
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dir: string,
    readonly file: string = SNAPSHOT_FILE,
  ) {}

  /** Creates the directory (so that a bad data dir fails start(), not a write minutes later). */
  async prepare(): Promise<void> {
    await ensureDataDir(this.dir);
  }

  /** Writes `snapshot` unless it equals the last one written; resolves true when it wrote. */
  write(snapshot: object): Promise<boolean> {
    const text = `${JSON.stringify(snapshot, null, 2)}\n`;
    const next = this.chain.then(async () => {
      if (text === this.last) return false;
      await this.writeNow(text);
      return true;
    });
    // Keep the chain alive after a failure; the caller sees this write's failure.
    this.chain = next.catch(() => {});
    return next;
  }

  private async writeNow(text: string): Promise<void> {
    const path = join(this.dir, this.file);
    const tmp = `${path}.${process.pid}.${crypto().randomBytes(4).toString('hex')}${TMP_SUFFIX}`;
    try {
      const fh = await fsp().open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(text, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp().rename(tmp, path);
      await syncDirectory(this.dir);
      this.last = text;
    } catch (err) {
      await fsp().rm(tmp, { force: true }).catch(() => {});
      throw new DataDirError(this.dir, err);
    }
  }
}
