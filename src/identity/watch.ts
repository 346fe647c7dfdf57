/**
 * Renewal without a restart, and the warning before expiry (issue 14, point 3, the local part):
 * `hearsay agent` rereads the certificate, key and revocation list on SIGHUP and when any of the
 * files changes (a stat every few seconds: mtime, size and inode, so a rename over the file counts),
 * and hands a valid new identity to the agent (agent.setIdentity). A file that does not validate,
 * an older revocation list than the one in force, or a certificate the agent refuses leaves the
 * identity as it was, and says so in the log. It warns (at most hourly) once a third of the
 * certificate's lifetime is left, and logs an error every hour after it has expired.
 */
import type { Logger } from '../log/logger.js';
import { IdentityError, loadIdentity, type IdentityFiles, type NodeIdentity } from './identity.js';
import { fsp } from '../builtins.js';


/** How often the files are looked at. */
export const IDENTITY_WATCH_INTERVAL_MS = 5_000;
/** Warnings about an expiring (or expired) certificate are repeated at most this often. */
export const EXPIRY_WARNING_INTERVAL_MS = 3_600_000;

/** A stamp of the files: changes when any of them is written, replaced, created or removed. */
export async function fileStamp(paths: readonly string[]): Promise<string> {
  const parts = await Promise.all(
    paths.map(async (p) => {
      try {
        const s = await fsp().stat(p);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch (err) {
        return `missing:${(err as NodeJS.ErrnoException).code ?? ''}`;
      }
    }),
  );
  return parts.join('|');
}

/** Calls `onChange` when the files' stamp changes, checking every `intervalMs`; returns the stop function. */
export function watchFiles(paths: readonly string[], intervalMs: number, onChange: () => Promise<void>, onTick?: () => void): () => void {
  let last: Promise<string> = fileStamp(paths);
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      try {
        const before = await last;
        const now = await fileStamp(paths);
        last = Promise.resolve(now);
        if (now !== before) await onChange();
        onTick?.();
      } finally {
        busy = false;
      }
    })();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

export interface IdentityWatchOptions {
  readonly files: IdentityFiles;
  /** The agent's identity now, and how to replace it (throws IdentityError to refuse). */
  current(): NodeIdentity | undefined;
  apply(next: NodeIdentity): void;
  readonly log: Logger;
  /** @default IDENTITY_WATCH_INTERVAL_MS */
  readonly intervalMs?: number;
  /** Wall-clock ms; injected by tests. @default Date.now */
  readonly now?: () => number;
}

export type RenewalOutcome = { readonly outcome: 'renewed' | 'unchanged'; readonly fingerprint: string } | { readonly outcome: 'refused'; readonly error: string };

export class IdentityWatch {
  readonly counters = { 'identity.renewals': 0, 'identity.renewalsRefused': 0 };
  private stopWatch: (() => void) | null = null;
  private lastWarning = -Infinity;
  private readonly now: () => number;

  constructor(private readonly o: IdentityWatchOptions) {
    this.now = o.now ?? (() => Date.now());
  }

  private get paths(): string[] {
    const f = this.o.files;
    return [f.ca, f.cert, f.certKey, ...(f.revocations === undefined ? [] : [f.revocations])];
  }

  start(): void {
    this.checkExpiry();
    this.stopWatch ??= watchFiles(this.paths, this.o.intervalMs ?? IDENTITY_WATCH_INTERVAL_MS, async () => {
      await this.reload('a certificate file changed');
    }, () => this.checkExpiry());
  }

  stop(): void {
    this.stopWatch?.();
    this.stopWatch = null;
  }

  /** Rereads the files; a valid, different identity replaces the agent's, anything else leaves it. */
  async reload(why: string): Promise<RenewalOutcome> {
    const current = this.o.current();
    let next: NodeIdentity;
    try {
      next = await loadIdentity(this.o.files, current?.node, this.now());
      // A list older than the one in force is refused; no list at all (no --revocations file)
      // keeps the one in force, which may have come from the mesh.
      if (current?.revocationsVersion !== undefined && next.revocationsVersion !== undefined && next.revocationsVersion < current.revocationsVersion) {
        throw new IdentityError('revocations', `the revocation list is version ${next.revocationsVersion ?? 'none'}, older than version ${current.revocationsVersion} in force: give the newest list \`hearsay ca revoke\` wrote`);
      }
      if (current !== undefined && current.fingerprint === next.fingerprint && current.revocationsVersion === (next.revocationsVersion ?? current.revocationsVersion)) {
        return { outcome: 'unchanged', fingerprint: next.fingerprint };
      }
      this.o.apply(next);
    } catch (err) {
      if (!(err instanceof IdentityError)) throw err;
      this.counters['identity.renewalsRefused']++;
      this.o.log.error({ err: err.message, problem: err.problem, why }, `kept the current certificate: the new files are refused: ${err.message}`);
      return { outcome: 'refused', error: err.message };
    }
    this.counters['identity.renewals']++;
    this.lastWarning = -Infinity;
    this.o.log.info({ why, fingerprint: next.fingerprint, notAfter: new Date(next.notAfterMs).toISOString(), revocationsVersion: next.revocationsVersion }, 'certificate files reloaded');
    this.checkExpiry();
    return { outcome: 'renewed', fingerprint: next.fingerprint };
  }

  /** Warns once a third of the lifetime is left (at most hourly); an error, hourly, once expired. */
  checkExpiry(): void {
    const id = this.o.current();
    if (id === undefined) return;
    const now = this.now();
    const left = id.notAfterMs - now;
    const lifetime = id.notAfterMs - id.notBeforeMs;
    if (left > lifetime / 3 || now - this.lastWarning < EXPIRY_WARNING_INTERVAL_MS) return;
    this.lastWarning = now;
    const fields = { fingerprint: id.fingerprint, notAfter: new Date(id.notAfterMs).toISOString(), secondsLeft: Math.floor(left / 1000) };
    if (left <= 0) this.o.log.error(fields, `this node's certificate expired at ${fields.notAfter}: issue a new one (\`hearsay ca issue\`), put it in ${this.o.files.cert} and ${this.o.files.certKey}; the agent picks it up without a restart`);
    else this.o.log.warn(fields, `this node's certificate expires at ${fields.notAfter} (in ${Math.ceil(left / 3_600_000)} h): issue a new one (\`hearsay ca issue\`) and replace ${this.o.files.cert} and ${this.o.files.certKey}; the agent picks it up without a restart`);
  }
}
