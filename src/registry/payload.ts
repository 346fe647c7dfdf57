/**
 * The registry's share of a node's state: its instances, in the member-state payload.
 *
 * A small hand-written binary format rather than msgpack, because every byte counts (a node's
 * whole state must fit one datagram) and because the decoder reads untrusted bytes: it checks
 * every length against the buffer and every field against validate.ts before building anything,
 * and allocates in proportion to the input.
 *
 *   payload  = MAGIC(0x53) VERSION(1) count:u8 instance*count
 *   instance = id:str8 name:str8 address:str8 port:u16be status:u8
 *              tagCount:u8 tag:str8*tagCount metaCount:u8 (key:str8 value:str16)*metaCount
 *   str8     = len:u8 utf8[len]; str16 = len:u16be utf8[len]; status: 0 passing, 1 warning,
 *              2 critical, 3 maintenance; an empty address means the node's advertise address.
 */
import { ByteWriter } from '../util/byte-writer.js';
import { HEALTH_STATUSES, type HealthStatus, type LocalInstanceRecord } from './types.js';
import { addressProblem, idProblem, metaProblems, nameProblem, REGISTRY_LIMITS, tagsProblems } from './validate.js';

export const PAYLOAD_MAGIC = 0x53;
export const PAYLOAD_VERSION = 1;
/** Most instances in one payload (its count is one byte). Nodes publish entries now (entries.ts). */
export const MAX_PAYLOAD_INSTANCES = 255;

const encoder = new TextEncoder();
// ignoreBOM: a string that begins with U+FEFF (valid in tags, addresses and meta values) keeps it;
// by default the decoder would strip it as a byte-order mark.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The registry's binary writer: ByteWriter with length-prefixed UTF-8 strings (also check-entries.ts). */
export class Writer extends ByteWriter {
  str(s: string, wide: boolean): void {
    const bytes = encoder.encode(s);
    const max = wide ? 0xffff : 0xff;
    if (bytes.length > max) throw new RangeError(`string of ${bytes.length} bytes does not fit a ${wide ? 16 : 8}-bit length`);
    if (wide) this.u16(bytes.length);
    else this.u8(bytes.length);
    this.bytes(bytes);
  }
}

/**
 * Encodes a node's instances. The records must already be valid (LocalRegistry validates on
 * registration); an empty list encodes to null, so a node without services carries no payload.
 */
export function encodeInstances(records: readonly LocalInstanceRecord[]): Uint8Array | null {
  if (records.length === 0) return null;
  if (records.length > MAX_PAYLOAD_INSTANCES) {
    throw new RangeError(`${records.length} instances: a payload holds at most ${MAX_PAYLOAD_INSTANCES}`);
  }
  const w = new Writer();
  w.u8(PAYLOAD_MAGIC);
  w.u8(PAYLOAD_VERSION);
  w.u8(records.length);
  for (const r of records) writeInstance(w, r);
  return w.done();
}

function writeInstance(w: Writer, r: LocalInstanceRecord): void {
  w.str(r.id, false);
  w.str(r.name, false);
  w.str(r.address, false);
  w.u16(r.port);
  w.u8(HEALTH_STATUSES.indexOf(r.status));
  w.u8(r.tags.length);
  for (const t of r.tags) w.str(t, false);
  const meta = Object.entries(r.meta);
  w.u8(meta.length);
  for (const [k, v] of meta) {
    w.str(k, false);
    w.str(v, true);
  }
}

/**
 * One instance as a state-layer entry's value (src/state/): the instance format above, without the
 * count, behind its own magic, so that a status flip changes one small entry instead of a node's
 * whole payload.
 */
export const INSTANCE_ENTRY_MAGIC = 0x49;

export function encodeInstanceEntry(record: LocalInstanceRecord): Uint8Array {
  const w = new Writer();
  w.u8(INSTANCE_ENTRY_MAGIC);
  w.u8(PAYLOAD_VERSION);
  writeInstance(w, record);
  return w.done();
}

/**
 * An instance's status as its own small state entry (`s:<id>`, entries.ts), so that a health flip
 * re-sends two bytes of value instead of the whole instance: STATUS_ENTRY_MAGIC then the status code
 * (0 passing, 1 warning, 2 critical, 3 maintenance).
 */
export const STATUS_ENTRY_MAGIC = 0x73;

export function encodeStatusEntry(status: HealthStatus): Uint8Array {
  return Uint8Array.of(STATUS_ENTRY_MAGIC, HEALTH_STATUSES.indexOf(status));
}

/** Decodes one status entry's value. Never throws. */
export function decodeStatusEntry(bytes: Uint8Array): { readonly ok: true; readonly status: HealthStatus } | { readonly ok: false; readonly reason: string } {
  if (bytes.length !== 2 || bytes[0] !== STATUS_ENTRY_MAGIC) return { ok: false, reason: 'not a status entry' };
  const status = HEALTH_STATUSES[bytes[1] as number];
  return status === undefined ? { ok: false, reason: `status code ${bytes[1]}` } : { ok: true, status };
}

/**
 * Where an instance entry's status byte is (after the magic, the version, the id, name and address
 * and the port), or -1 when the value is too short: two instance entries that differ at most there
 * differ only in status.
 */
export function instanceEntryStatusOffset(bytes: Uint8Array): number {
  let pos = 2;
  for (let i = 0; i < 3; i++) {
    if (pos >= bytes.length) return -1;
    pos += 1 + (bytes[pos] as number);
  }
  pos += 2;
  return pos < bytes.length ? pos : -1;
}

export type DecodeInstanceResult = { readonly ok: true; readonly record: LocalInstanceRecord } | { readonly ok: false; readonly reason: string };

/** Decodes and validates one instance entry's value. Never throws. */
export function decodeInstanceEntry(bytes: Uint8Array): DecodeInstanceResult {
  try {
    const r = new Reader(bytes);
    if (r.u8() !== INSTANCE_ENTRY_MAGIC) return { ok: false, reason: 'not an instance entry' };
    const version = r.u8();
    if (version !== PAYLOAD_VERSION) return { ok: false, reason: `unknown instance entry version ${version}` };
    const record = readInstance(r, 0);
    if (typeof record === 'string') return { ok: false, reason: record };
    if (r.left !== 0) return { ok: false, reason: `${r.left} trailing bytes` };
    return { ok: true, record };
  } catch (err) {
    if (err instanceof PayloadError) return { ok: false, reason: err.message };
    throw err;
  }
}

export type DecodeInstancesResult =
  | { readonly ok: true; readonly records: readonly LocalInstanceRecord[] }
  | { readonly ok: false; readonly reason: string };

/** Reads what Writer writes; every length is checked against the buffer (PayloadError). */
export class Reader {
  pos = 0;
  constructor(private readonly b: Uint8Array) {}
  get left(): number {
    return this.b.length - this.pos;
  }
  u8(): number {
    if (this.pos + 1 > this.b.length) throw new PayloadError('truncated');
    return this.b[this.pos++]!;
  }
  u16(): number {
    if (this.pos + 2 > this.b.length) throw new PayloadError('truncated');
    const v = (this.b[this.pos]! << 8) | this.b[this.pos + 1]!;
    this.pos += 2;
    return v;
  }
  str(wide: boolean): string {
    const len = wide ? this.u16() : this.u8();
    if (this.pos + len > this.b.length) throw new PayloadError('string runs past the end');
    let s: string;
    try {
      s = decoder.decode(this.b.subarray(this.pos, this.pos + len));
    } catch {
      throw new PayloadError('invalid UTF-8');
    }
    this.pos += len;
    return s;
  }
}

export class PayloadError extends Error {}

/** Not a registry payload (another application's, or none): a node without instances. */
export function isRegistryPayload(bytes: Uint8Array | null): bytes is Uint8Array {
  return bytes !== null && bytes.length >= 2 && bytes[0] === PAYLOAD_MAGIC;
}

/**
 * Decodes and validates a peer's instances. Never throws: a malformed payload is reported as
 * `{ok: false, reason}` and the caller drops it (and counts it).
 */
export function decodeInstances(bytes: Uint8Array): DecodeInstancesResult {
  try {
    const r = new Reader(bytes);
    if (r.u8() !== PAYLOAD_MAGIC) return { ok: false, reason: 'not a registry payload' };
    const version = r.u8();
    if (version !== PAYLOAD_VERSION) return { ok: false, reason: `unknown payload version ${version}` };
    const count = r.u8();
    // The smallest valid instance takes 10 bytes (one-character id and name, empty address, no tags
    // or meta): refuse counts the buffer cannot hold before allocating.
    if (count * 10 > r.left) return { ok: false, reason: `count ${count} does not fit ${r.left} bytes` };
    const records: LocalInstanceRecord[] = [];
    const ids = new Set<string>();
    for (let i = 0; i < count; i++) {
      const record = readInstance(r, i);
      if (typeof record === 'string') return { ok: false, reason: record };
      if (ids.has(record.id)) return { ok: false, reason: `instance ${i}: id ${record.id} repeats` };
      ids.add(record.id);
      records.push(record);
    }
    if (r.left !== 0) return { ok: false, reason: `${r.left} trailing bytes` };
    return { ok: true, records };
  } catch (err) {
    if (err instanceof PayloadError) return { ok: false, reason: err.message };
    throw err;
  }
}

/** Reads and validates instance `i`; a string is the problem. Throws PayloadError when truncated. */
function readInstance(r: Reader, i: number): LocalInstanceRecord | string {
  const id = r.str(false);
  const name = r.str(false);
  const address = r.str(false);
  const port = r.u16();
  const statusCode = r.u8();
  const tagCount = r.u8();
  if (tagCount > REGISTRY_LIMITS.maxTags) return `instance ${i}: ${tagCount} tags`;
  const tags: string[] = [];
  for (let t = 0; t < tagCount; t++) tags.push(r.str(false));
  const metaCount = r.u8();
  if (metaCount > REGISTRY_LIMITS.maxMetaKeys) return `instance ${i}: ${metaCount} meta keys`;
  const meta: Record<string, string> = {};
  for (let m = 0; m < metaCount; m++) {
    const k = r.str(false);
    const v = r.str(true);
    if (Object.hasOwn(meta, k)) return `instance ${i}: meta key repeats`;
    Object.defineProperty(meta, k, { value: v, enumerable: true, writable: false, configurable: false });
  }
  const status: HealthStatus | undefined = HEALTH_STATUSES[statusCode];
  if (status === undefined) return `instance ${i}: status code ${statusCode}`;
  const problem =
    idProblem(id) ??
    nameProblem(name) ??
    (address === '' ? undefined : addressProblem(address)) ??
    (port === 0 ? 'port 0' : undefined) ??
    tagsProblems(tags)[0] ??
    metaProblems(meta)[0];
  if (problem !== undefined) return `instance ${i}: ${problem}`;
  return Object.freeze({ id, name, address, port, tags: Object.freeze(tags), meta: Object.freeze(meta), status });
}
