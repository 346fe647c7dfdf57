/**
 * Bytes of the state layer (src/state/): a node's delta and a list of digests. A hand-written
 * binary format, like the registry payload's, because deltas are cut to fill a datagram and every
 * byte counts, and because the decoder reads untrusted bytes: it checks every length against the
 * buffer before it allocates, bounds every count by what the remaining bytes could hold, and
 * returns a problem as a value (never throws).
 *
 *   delta   = 0x44 VERSION(1) node:str8 generation:uv fromVersion:uv toVersion:uv flags:u8
 *             collectedVersion:uv count:uv entry*count           (flags bit 0: reset)
 *   entry   = flags:u8 key:str8 version:uv [len:uv value[len]] [signature[72]]
 *             (flags bit 0: deleted, no value; bit 1: signed, the owner's certificate fingerprint
 *             prefix (8) and Ed25519 signature (64) over entrySigningBytes follow)
 *   digests = 0x47 VERSION(1) count:uv (node:str8 generation:uv version:uv)*count
 *   uv      = unsigned LEB128, at most 8 bytes, at most 2^53 - 1
 *   str8    = len:u8 utf8[len], non-empty
 *
 * Semantic checks (versions ascending within (fromVersion, toVersion], no repeated key, limits per
 * node) belong to the state layer, which refuses such a delta when it applies it.
 */
import type { NodeDelta, NodeDigest, StateEntry } from '../state/types.js';
import { ByteWriter } from '../util/byte-writer.js';

export const DELTA_MAGIC = 0x44;
export const DIGESTS_MAGIC = 0x47;
export const STATE_CODEC_VERSION = 1;

export interface StateDecodeLimits {
  /** Most entries in one delta. */
  readonly maxEntries: number;
  /** Largest entry value, in bytes. */
  readonly maxValueBytes: number;
  /** Most digests in one list. */
  readonly maxDigests: number;
}

// maxEntries: a whole state (a reset delta) is one delta, its tombstones included: room for a full state of live entries and as many tombstones.
export const DEFAULT_STATE_DECODE_LIMITS: StateDecodeLimits = Object.freeze({ maxEntries: 16_384, maxValueBytes: 64 * 1024, maxDigests: 100_000 });

export type StateDecodeError = { readonly code: 'malformed' | 'bad-version' | 'too-large'; readonly detail: string };
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: StateDecodeError };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const MAX_UV_BYTES = 8;

class Out extends ByteWriter {
  uv(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${v} is not an unsigned safe integer`);
    const b = this.room(MAX_UV_BYTES);
    let x = v;
    while (x >= 0x80) {
      b[this.pos++] = (x % 0x80) | 0x80;
      x = Math.floor(x / 0x80);
    }
    b[this.pos++] = x;
  }
  str8(s: string): void {
    const b = encoder.encode(s);
    if (b.length === 0 || b.length > 0xff) throw new RangeError(`a name of ${b.length} bytes does not fit (1..255)`);
    this.u8(b.length);
    this.bytes(b);
  }
}

/** An entry's signature: the fingerprint prefix and the signature. */
export const ENTRY_SIGNATURE_BYTES = 8 + 64;
const SIGNING_MAGIC = 0x53;

/** Bytes `entry` takes in a delta (for filling a budget). */
export function encodedEntryBytes(e: StateEntry): number {
  const key = encoder.encode(e.key).length;
  return 1 + 1 + key + uvBytes(e.version) + (e.deleted ? 0 : uvBytes(e.value.length) + e.value.length) + (e.signature === undefined ? 0 : ENTRY_SIGNATURE_BYTES);
}

/**
 * What an owner signs for one entry version: the owner, the generation, the key, the version,
 * whether deleted, and the value. Its first byte (0x53) is no msgpack array header, so it can
 * never be taken for a signed record's bytes.
 */
export function entrySigningBytes(owner: string, generation: number, e: StateEntry): Uint8Array {
  const o = new Out(32 + e.key.length * 3 + owner.length * 3 + e.value.length);
  o.u8(SIGNING_MAGIC);
  o.u8(STATE_CODEC_VERSION);
  o.str8(owner);
  o.uv(generation);
  o.str8(e.key);
  o.uv(e.version);
  o.u8(e.deleted ? 1 : 0);
  o.uv(e.deleted ? 0 : e.value.length);
  if (!e.deleted) o.bytes(e.value);
  return o.done();
}

export function encodeDelta(d: NodeDelta): Uint8Array {
  const o = new Out(64 + d.entries.reduce((n, e) => n + e.key.length * 3 + e.value.length + 12, 0));
  o.u8(DELTA_MAGIC);
  o.u8(STATE_CODEC_VERSION);
  o.str8(d.node);
  o.uv(d.generation);
  o.uv(d.fromVersion);
  o.uv(d.toVersion);
  o.u8(d.reset ? 1 : 0);
  o.uv(d.collectedVersion);
  o.uv(d.entries.length);
  for (const e of d.entries) {
    const signed = e.signature !== undefined && e.signature.length === ENTRY_SIGNATURE_BYTES;
    o.u8((e.deleted ? 1 : 0) | (signed ? 2 : 0));
    o.str8(e.key);
    o.uv(e.version);
    if (!e.deleted) {
      o.uv(e.value.length);
      o.bytes(e.value);
    }
    if (signed) o.bytes(e.signature as Uint8Array);
  }
  return o.done();
}

export function encodeDigests(ds: readonly NodeDigest[]): Uint8Array {
  const o = new Out(16 + ds.length * 24);
  o.u8(DIGESTS_MAGIC);
  o.u8(STATE_CODEC_VERSION);
  o.uv(ds.length);
  for (const d of ds) {
    o.str8(d.node);
    o.uv(d.generation);
    o.uv(d.version);
  }
  return o.done();
}

/** A cursor over untrusted bytes; every read checks the bounds and reports a problem as `fail`. */
class In {
  pos = 0;
  fail: string | null = null;
  constructor(private readonly b: Uint8Array) {}
  get left(): number {
    return this.b.length - this.pos;
  }
  u8(what: string): number {
    if (this.pos >= this.b.length) return this.bad(`${what}: truncated`);
    return this.b[this.pos++] as number;
  }
  uv(what: string): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < MAX_UV_BYTES; i++) {
      if (this.pos >= this.b.length) return this.bad(`${what}: truncated`);
      const byte = this.b[this.pos++] as number;
      v += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return Number.isSafeInteger(v) ? v : this.bad(`${what}: beyond 2^53`);
      scale *= 0x80;
    }
    return this.bad(`${what}: more than ${MAX_UV_BYTES} bytes`);
  }
  str8(what: string): string {
    const n = this.u8(what);
    if (this.fail !== null) return '';
    if (n === 0) return this.badStr(`${what}: empty`);
    if (n > this.left) return this.badStr(`${what}: truncated`);
    try {
      const s = decoder.decode(this.b.subarray(this.pos, this.pos + n));
      this.pos += n;
      return s;
    } catch {
      return this.badStr(`${what}: not UTF-8`);
    }
  }
  bytes(n: number, what: string): Uint8Array {
    if (n > this.left) {
      this.bad(`${what}: truncated`);
      return EMPTY;
    }
    const out = this.b.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  private bad(detail: string): number {
    this.fail ??= detail;
    this.pos = this.b.length;
    return 0;
  }
  private badStr(detail: string): string {
    this.bad(detail);
    return '';
  }
}

const EMPTY = new Uint8Array(0);
/** The fewest bytes an entry takes (flags, a one-byte key, a one-byte version). */
const MIN_ENTRY_BYTES = 4;
const MIN_DIGEST_BYTES = 4;

export function decodeDelta(bytes: Uint8Array, limits: StateDecodeLimits = DEFAULT_STATE_DECODE_LIMITS): Decoded<NodeDelta> {
  const r = new In(bytes);
  const head = header(r, DELTA_MAGIC, 'delta');
  if (head !== null) return head;
  const node = r.str8('node');
  const generation = r.uv('generation');
  const fromVersion = r.uv('fromVersion');
  const toVersion = r.uv('toVersion');
  const flags = r.u8('flags');
  const collectedVersion = r.uv('collectedVersion');
  const count = r.uv('count');
  if (r.fail !== null) return malformed(r.fail);
  if (flags > 1) return malformed('flags: unknown bits');
  if (count > limits.maxEntries) return { ok: false, error: { code: 'too-large', detail: `${count} entries, at most ${limits.maxEntries}` } };
  if (count * MIN_ENTRY_BYTES > r.left) return malformed(`count: ${count} entries cannot fit ${r.left} bytes`);
  const entries: StateEntry[] = [];
  for (let i = 0; i < count; i++) {
    const f = r.u8('entry flags');
    const key = r.str8('entry key');
    const version = r.uv('entry version');
    if (r.fail !== null) return malformed(r.fail);
    if (f > 3) return malformed('entry flags: unknown bits');
    const deleted = (f & 1) === 1;
    let value: Uint8Array = EMPTY;
    if (!deleted) {
      const len = r.uv('entry value length');
      if (r.fail !== null) return malformed(r.fail);
      if (len > limits.maxValueBytes) return { ok: false, error: { code: 'too-large', detail: `a value of ${len} bytes, at most ${limits.maxValueBytes}` } };
      value = r.bytes(len, 'entry value');
      if (r.fail !== null) return malformed(r.fail);
    }
    if ((f & 2) === 0) {
      entries.push({ key, value, version, deleted });
      continue;
    }
    const signature = r.bytes(ENTRY_SIGNATURE_BYTES, 'entry signature');
    if (r.fail !== null) return malformed(r.fail);
    entries.push({ key, value, version, deleted, signature });
  }
  if (r.left !== 0) return malformed(`${r.left} bytes after the last entry`);
  return { ok: true, value: { node, generation, fromVersion, toVersion, reset: flags === 1, collectedVersion, entries } };
}

export function decodeDigests(bytes: Uint8Array, limits: StateDecodeLimits = DEFAULT_STATE_DECODE_LIMITS): Decoded<NodeDigest[]> {
  const r = new In(bytes);
  const head = header(r, DIGESTS_MAGIC, 'digests');
  if (head !== null) return head;
  const count = r.uv('count');
  if (r.fail !== null) return malformed(r.fail);
  if (count > limits.maxDigests) return { ok: false, error: { code: 'too-large', detail: `${count} digests, at most ${limits.maxDigests}` } };
  if (count * MIN_DIGEST_BYTES > r.left) return malformed(`count: ${count} digests cannot fit ${r.left} bytes`);
  const out: NodeDigest[] = [];
  for (let i = 0; i < count; i++) {
    const node = r.str8('node');
    const generation = r.uv('generation');
    const version = r.uv('version');
    if (r.fail !== null) return malformed(r.fail);
    out.push({ node, generation, version });
  }
  if (r.left !== 0) return malformed(`${r.left} bytes after the last digest`);
  return { ok: true, value: out };
}

function header(r: In, magic: number, what: string): Decoded<never> | null {
  const m = r.u8('magic');
  const v = r.u8('version');
  if (r.fail !== null) return malformed(r.fail);
  if (m !== magic) return malformed(`not a ${what} (magic 0x${m.toString(16)})`);
  if (v !== STATE_CODEC_VERSION) return { ok: false, error: { code: 'bad-version', detail: `${what} format version ${v}; this node speaks ${STATE_CODEC_VERSION}` } };
  return null;
}

function malformed(detail: string): Decoded<never> {
  return { ok: false, error: { code: 'malformed', detail } };
}

function uvBytes(v: number): number {
  let n = 1;
  let x = v;
  while (x >= 0x80) {
    x = Math.floor(x / 0x80);
    n++;
  }
  return n;
}
