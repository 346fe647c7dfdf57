/**
 * Revocation lists spread through the mesh (issue 14, point 3).
 *
 * Announce: every node with identity on holds one state entry, REVOCATIONS_KEY, of 15 bytes: a
 * magic, the version of the list it holds (0: none) and the first 8 bytes of the issuing CA's
 * SHA-256. It is signed and spread as the node's other entries are (the state layer), so every
 * peer learns within the dissemination bound that a newer list exists.
 *
 * Fetch: a node that sees a peer announce a version above its own waits a random delay (so that
 * the first announcer, often the one node an operator gave the list to, is not asked by every
 * node at once: by then others have fetched it and announce it too), then asks one holder picked
 * at random among those announcing the highest version, over a stream of its own (a frame starting
 * with REVOCATIONS_TYPE, security/secure-transport.ts). One fetch is in flight at a time; a holder
 * that fails (no answer, or an answer that does not verify) is not asked again for that version,
 * and the next one is tried after a backoff; once every holder has failed, a new round starts
 * after ROUND_INTERVAL_MS. The answer is checked as a file is: our CA's, its signature, a version
 * above ours. Whatever a peer sends that fails is dropped and counted by reason.
 *
 * The pure parts (the announcement's bytes and FetchPlanner, who to ask next) take no clock and
 * no randomness of their own.
 */
import type { X509Certificate } from 'node:crypto';
import type { Logger } from '../log/logger.js';
import type { Address } from '../wire/messages.js';
import { MAX_REVOCATIONS_BYTES, parseRevocations, RevocationListError, type RevocationList } from './revocations.js';

/** The state entry a node announces its list's version in (outside the registry's i:, s:, c:). */
export const REVOCATIONS_KEY = 'revocations';
const MAGIC = 0x52; // 'R'
export const ANNOUNCEMENT_BYTES = 15;

/** What a node says it holds. */
export interface Announcement {
  readonly version: number;
  /** The first 8 bytes of the issuing CA's SHA-256, as hex. */
  readonly issuer: string;
}

/** The first 8 bytes of a SHA-256 fingerprint ("AB:CD:..."), as lowercase hex. */
export function issuerPrefix(fingerprint256: string): string {
  return fingerprint256.replace(/[:\s]/g, '').slice(0, 16).toLowerCase();
}

export function encodeAnnouncement(version: number, caFingerprint256: string): Uint8Array {
  const out = new Uint8Array(ANNOUNCEMENT_BYTES);
  out[0] = MAGIC;
  let v = version;
  for (let i = 6; i >= 1; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  out.set(Buffer.from(issuerPrefix(caFingerprint256), 'hex'), 7);
  return out;
}

/** The announcement in an entry's value, or null for bytes that are not one. */
export function decodeAnnouncement(value: Uint8Array): Announcement | null {
  if (value.length !== ANNOUNCEMENT_BYTES || value[0] !== MAGIC) return null;
  let version = 0;
  for (let i = 1; i <= 6; i++) version = version * 256 + (value[i] as number);
  return { version, issuer: Buffer.from(value.subarray(7)).toString('hex') };
}

/** Why a list a peer sent was dropped (`identity.revocations.dropped.<reason>`). */
export const REVOCATION_DROP_REASONS = ['malformed', 'oversized', 'wrong-ca', 'bad-signature', 'older'] as const;
export type RevocationDropReason = (typeof REVOCATION_DROP_REASONS)[number];

/**
 * How a fetch ended (`identity.revocations.fetches.<outcome>`): adopted; superseded (a list as new
 * arrived another way meanwhile); dropped (the answer failed a check); failed (no answer, or the
 * holder had no list to give); busy (the holder had served its MAX_SERVES_PER_SECOND: asked
 * again later, it or another).
 */
export const REVOCATION_FETCH_OUTCOMES = ['adopted', 'superseded', 'dropped', 'failed', 'busy'] as const;

/**
 * Lists a node serves a second at most (a token bucket of this many); a request beyond it is
 * answered `{"busy": true}`. It bounds what answering costs a node (up to 1 MiB an answer) and the
 * share of the mesh's fetches that the first holder takes.
 */
export const MAX_SERVES_PER_SECOND = 8;
export type RevocationFetchOutcome = (typeof REVOCATION_FETCH_OUTCOMES)[number];

/** The holder a fetch goes to. */
export interface FetchTarget {
  readonly node: string;
  readonly addr: Address;
  readonly version: number;
}

/**
 * Who to ask next (pure): the holders and the versions they announce, and who failed for which
 * version. `next` picks, among the holders announcing the highest version above `current` that
 * have not failed for it, one at random.
 */
export class FetchPlanner {
  private readonly holders = new Map<string, { addr: Address; version: number }>();
  private readonly failed = new Set<string>();

  announce(node: string, addr: Address, version: number): void {
    this.holders.set(node, { addr: { host: addr.host, port: addr.port }, version });
  }

  forget(node: string): void {
    this.holders.delete(node);
  }

  /** `node` did not give a usable list of `version`: not asked again for it this round. */
  fail(node: string, version: number): void {
    this.failed.add(`${version}@${node}`);
  }

  /** A new round: every holder may be asked again. */
  newRound(): void {
    this.failed.clear();
  }

  /** Whether some holder announces a version above `current`. */
  wants(current: number): boolean {
    for (const h of this.holders.values()) if (h.version > current) return true;
    return false;
  }

  next(current: number, random: () => number): FetchTarget | null {
    let best = current;
    const candidates: FetchTarget[] = [];
    for (const [node, h] of this.holders) {
      if (h.version <= current || this.failed.has(`${h.version}@${node}`)) continue;
      if (h.version > best) {
        best = h.version;
        candidates.length = 0;
      }
      if (h.version === best) candidates.push({ node, addr: h.addr, version: h.version });
    }
    if (candidates.length === 0) return null;
    return candidates[Math.min(candidates.length - 1, Math.floor(random() * candidates.length))] as FetchTarget;
  }

  get size(): number {
    return this.holders.size;
  }
}

/** The wait before a fetch, drawn uniformly from [0, FETCH_JITTER_MS). */
export const FETCH_JITTER_MS = 500;
/** The first retry's backoff after a failed fetch; doubled each time, up to 8 times that. */
export const FETCH_RETRY_MS = 250;
/** Once every holder failed: when all are tried again. */
export const ROUND_INTERVAL_MS = 30_000;

const BUSY = '{"busy":true}';

export type RevocationCounterName =
  | 'identity.revocations.adopted'
  | 'identity.revocations.served'
  | 'identity.revocations.servedBusy'
  | `identity.revocations.fetches.${RevocationFetchOutcome}`
  | `identity.revocations.dropped.${RevocationDropReason}`;

export interface RevocationSpreadOptions {
  readonly ca: X509Certificate;
  /** The list in force. */
  current(): RevocationList | undefined;
  /** Puts a checked, newer list in force (the agent's adoption: authenticator, view, file, log). */
  adopt(list: RevocationList, from: string): void;
  /** Asks a holder for its list (`{have}`: the version this node holds); the answer's bytes. */
  fetch(to: Address, request: { readonly have: number }): Promise<{ readonly ok: true; readonly answer: Uint8Array } | { readonly ok: false; readonly message: string }>;
  /** In [0, 1). */
  random(): number;
  /** Monotonic ms, for the serving rate. */
  now(): number;
  /** @default MAX_SERVES_PER_SECOND */
  readonly maxServesPerSecond?: number;
  /** A timer (unref'd); returns its cancel. */
  after(ms: number, fn: () => void): () => void;
  readonly log: Logger;
  /** @default FETCH_JITTER_MS */
  readonly jitterMs?: number;
  /** @default FETCH_RETRY_MS */
  readonly retryMs?: number;
  /** @default ROUND_INTERVAL_MS */
  readonly roundIntervalMs?: number;
}

export class RevocationSpread {
  readonly counters: Record<RevocationCounterName, number>;
  private readonly planner = new FetchPlanner();
  private readonly issuer: string;
  private inFlight = false;
  private cancelTimer: (() => void) | null = null;
  /** What the pending timer is for: a fetch, or the next round once every holder failed. */
  private timerKind: 'fetch' | 'round' | null = null;
  private failures = 0;
  private closed = false;
  /** The serving token bucket: tokens left and when it was last filled. */
  private tokens: number;
  private filledAt: number;
  /** The answer's bytes, made once per list. */
  private answered: { readonly list: RevocationList; readonly bytes: Uint8Array } | null = null;

  constructor(private readonly o: RevocationSpreadOptions) {
    this.issuer = issuerPrefix(o.ca.fingerprint256);
    this.tokens = o.maxServesPerSecond ?? MAX_SERVES_PER_SECOND;
    this.filledAt = o.now();
    const c = { 'identity.revocations.adopted': 0, 'identity.revocations.served': 0, 'identity.revocations.servedBusy': 0 } as Record<RevocationCounterName, number>;
    for (const r of REVOCATION_FETCH_OUTCOMES) c[`identity.revocations.fetches.${r}`] = 0;
    for (const r of REVOCATION_DROP_REASONS) c[`identity.revocations.dropped.${r}`] = 0;
    this.counters = c;
  }

  private get version(): number {
    return this.o.current()?.version ?? 0;
  }

  /** This node's announcement entry's value. */
  announcement(): Uint8Array {
    return encodeAnnouncement(this.version, this.o.ca.fingerprint256);
  }

  /** A peer's announcement entry (set, or deleted: `value` null), with the address it is at. */
  onAnnouncement(node: string, addr: Address | undefined, value: Uint8Array | null): void {
    const a = value === null ? null : decodeAnnouncement(value);
    // Another CA's list (a mesh mixing CAs) or no list: nothing to fetch from it.
    if (a === null || addr === undefined || a.issuer !== this.issuer || a.version === 0) {
      this.planner.forget(node);
      return;
    }
    this.planner.announce(node, addr, a.version);
    if (a.version > this.version) this.schedule(this.o.jitterMs ?? FETCH_JITTER_MS);
  }

  /** A member gone from the view: not asked any more. */
  onMemberGone(node: string): void {
    this.planner.forget(node);
  }

  /** The answer to a peer's request: the list in force, or `{}` without one. */
  answer(): Uint8Array {
    const list = this.o.current();
    if (list === undefined) return Buffer.from('{}', 'utf8');
    const rate = this.o.maxServesPerSecond ?? MAX_SERVES_PER_SECOND;
    const t = this.o.now();
    this.tokens = Math.min(rate, this.tokens + ((t - this.filledAt) / 1000) * rate);
    this.filledAt = t;
    if (this.tokens < 1) {
      this.counters['identity.revocations.servedBusy']++;
      return Buffer.from(BUSY, 'utf8');
    }
    this.tokens--;
    this.counters['identity.revocations.served']++;
    if (this.answered?.list !== list) this.answered = { list, bytes: Buffer.from(JSON.stringify(list), 'utf8') };
    return this.answered.bytes;
  }

  /**
   * Checks a list a peer (or anyone) sent: its size, shape, CA, signature and version. Returns it,
   * or the reason to drop it. `'older'` is a list not above the one in force (never a rollback).
   */
  check(bytes: Uint8Array, where: string): { ok: true; list: RevocationList } | { ok: false; reason: RevocationDropReason; message: string } {
    if (bytes.length > MAX_REVOCATIONS_BYTES) return { ok: false, reason: 'oversized', message: `${where}: ${bytes.length} bytes, over ${MAX_REVOCATIONS_BYTES}` };
    let list: RevocationList;
    try {
      list = parseRevocations(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), where, this.o.ca.publicKey, this.o.ca.fingerprint256);
    } catch (err) {
      if (err instanceof RevocationListError) return { ok: false, reason: err.problem, message: err.message };
      throw err;
    }
    if (list.version <= this.version) return { ok: false, reason: 'older', message: `${where}: version ${list.version} is not newer than version ${this.version} in force` };
    return { ok: true, list };
  }

  /** Stops the timers; a fetch in flight is ignored when it ends. */
  close(): void {
    this.closed = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.timerKind = null;
  }

  private setTimer(kind: 'fetch' | 'round', ms: number, fn: () => void): void {
    this.timerKind = kind;
    this.cancelTimer = this.o.after(ms, () => {
      this.cancelTimer = null;
      this.timerKind = null;
      fn();
    });
  }

  /** A fetch after a random delay in [0, delayMs), unless one is due or in flight already. */
  private schedule(delayMs: number): void {
    if (this.closed || this.inFlight) return;
    // Waiting for the next round (every holder failed): a new announcement may be a holder to ask now.
    if (this.timerKind === 'round' && this.planner.next(this.version, () => 0) !== null) {
      this.cancelTimer?.();
      this.cancelTimer = null;
      this.timerKind = null;
    }
    if (this.cancelTimer !== null) return;
    this.setTimer('fetch', Math.floor(this.o.random() * Math.max(1, delayMs)), () => void this.fetchNext());
  }

  private retryLater(): void {
    if (this.closed || this.cancelTimer !== null) return;
    const base = (this.o.retryMs ?? FETCH_RETRY_MS) * 2 ** Math.min(3, this.failures - 1);
    // Jittered, so that the nodes a busy holder turned away do not all come back at once.
    this.setTimer('fetch', Math.floor(base * (0.5 + this.o.random())), () => void this.fetchNext());
  }

  private async fetchNext(): Promise<void> {
    if (this.closed || this.inFlight) return;
    const have = this.version;
    const target = this.planner.next(have, this.o.random);
    if (target === null) {
      if (!this.planner.wants(have)) return;
      // Every holder failed this round: try them all again later.
      if (this.cancelTimer === null) {
        this.setTimer('round', this.o.roundIntervalMs ?? ROUND_INTERVAL_MS, () => {
          this.planner.newRound();
          void this.fetchNext();
        });
      }
      return;
    }
    this.inFlight = true;
    let outcome: RevocationFetchOutcome;
    try {
      outcome = await this.fetchFrom(target);
    } finally {
      this.inFlight = false;
    }
    if (this.closed) return;
    if (outcome === 'adopted' || outcome === 'superseded') {
      this.failures = 0;
      this.planner.newRound();
      if (this.planner.wants(this.version)) this.schedule(1);
      return;
    }
    this.failures++;
    // A busy holder is no failure of its own: it (or another, at random) is asked after the backoff.
    if (outcome !== 'busy') this.planner.fail(target.node, target.version);
    this.retryLater();
  }

  private async fetchFrom(target: FetchTarget): Promise<RevocationFetchOutcome> {
    const where = `the revocation list from ${target.node}`;
    const r = await this.o.fetch(target.addr, { have: this.version });
    if (this.closed) return 'failed';
    const count = (o: RevocationFetchOutcome): RevocationFetchOutcome => {
      this.counters[`identity.revocations.fetches.${o}`]++;
      return o;
    };
    if (!r.ok) {
      this.o.log.debug({ from: target.node, version: target.version, err: r.message }, 'revocation list fetch failed');
      return count('failed');
    }
    if (r.answer.length === 2 && r.answer[0] === 0x7b && r.answer[1] === 0x7d) return count('failed'); // {}: it holds none
    if (r.answer.length === BUSY.length && Buffer.from(r.answer.buffer, r.answer.byteOffset, r.answer.byteLength).toString('latin1') === BUSY) return count('busy');
    const checked = this.check(r.answer, where);
    if (!checked.ok) {
      // A list as new as the one announced arrived another way while this fetch was out.
      if (checked.reason === 'older' && this.version >= target.version) return count('superseded');
      this.counters[`identity.revocations.dropped.${checked.reason}`]++;
      this.o.log.warn({ from: target.node, reason: checked.reason, err: checked.message }, `dropped the revocation list ${target.node} sent: ${checked.message}`);
      return count('dropped');
    }
    this.o.adopt(checked.list, target.node);
    return count('adopted');
  }
}
