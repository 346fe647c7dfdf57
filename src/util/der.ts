/**
 * A small DER (ASN.1 Distinguished Encoding Rules, X.690) writer: just the types an X.509
 * certificate with Ed25519 keys needs (identity/x509.ts builds one from these). Every function
 * returns the complete encoding (tag, length, contents) as bytes; constructed values take their
 * already-encoded children. Pure: no I/O, no clock (a time is passed in).
 *
 * Node's crypto can parse certificates (X509Certificate) but not create them, and a general ASN.1
 * library (asn1js, @peculiar/asn1-schema) would bring far more than these few encoders.
 */
import { concatBytes } from './bytes.js';

/** Universal tags used here. */
export const TAG = Object.freeze({
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
});

/** The length octets: short form below 128, else long form (0x80 | count, then big-endian bytes). */
export function derLength(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`DER length ${n} is not a non-negative integer`);
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** Tag, length and contents. */
export function tlv(tag: number, contents: Uint8Array): Uint8Array {
  return concatBytes([Uint8Array.of(tag), derLength(contents.length), contents]);
}

export function sequence(...children: readonly Uint8Array[]): Uint8Array {
  return tlv(TAG.sequence, concatBytes(children));
}

/** A SET OF: DER sorts the encoded elements (X.690 11.6). */
export function setOf(...children: readonly Uint8Array[]): Uint8Array {
  const sorted = [...children].sort(compareBytes);
  return tlv(TAG.set, concatBytes(sorted));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

export function boolean(value: boolean): Uint8Array {
  return tlv(TAG.boolean, Uint8Array.of(value ? 0xff : 0x00));
}

export function nullValue(): Uint8Array {
  return tlv(TAG.null, new Uint8Array(0));
}

/**
 * An INTEGER: from a (possibly negative) bigint or number, or from unsigned big-endian bytes
 * (a serial number), in the fewest octets two's complement allows.
 */
export function integer(value: bigint | number | Uint8Array): Uint8Array {
  if (value instanceof Uint8Array) {
    let start = 0;
    while (start < value.length - 1 && value[start] === 0) start++;
    const body = value.subarray(start);
    const contents = body.length === 0 ? Uint8Array.of(0) : (body[0] as number) & 0x80 ? concatBytes([Uint8Array.of(0), body]) : body;
    return tlv(TAG.integer, contents);
  }
  let v = BigInt(value);
  const bytes: number[] = [];
  // Two's complement, least significant first, until the sign bit of the top byte is right.
  for (;;) {
    const byte = Number(v & 0xffn);
    bytes.unshift(byte);
    v >>= 8n;
    if ((v === 0n && (byte & 0x80) === 0) || (v === -1n && (byte & 0x80) !== 0)) break;
  }
  return tlv(TAG.integer, Uint8Array.from(bytes));
}

/** An OBJECT IDENTIFIER from its dotted form, e.g. "1.3.101.112" (Ed25519). */
export function oid(dotted: string): Uint8Array {
  if (!/^[0-2]\.\d+(\.\d+)*$/.test(dotted)) throw new RangeError(`"${dotted}" is not a dotted object identifier`);
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const [a, b, ...rest] = arcs as [bigint, bigint, ...bigint[]];
  if (a < 2n && b > 39n) throw new RangeError(`"${dotted}": the second arc must be below 40 under arc ${a}`);
  const out: number[] = [];
  for (const arc of [a * 40n + b, ...rest]) {
    const chunk: number[] = [];
    let v = arc;
    do {
      chunk.unshift(Number(v & 0x7fn));
      v >>= 7n;
    } while (v > 0n);
    for (let i = 0; i < chunk.length - 1; i++) chunk[i] = (chunk[i] as number) | 0x80;
    out.push(...chunk);
  }
  return tlv(TAG.oid, Uint8Array.from(out));
}

export function octetString(bytes: Uint8Array): Uint8Array {
  return tlv(TAG.octetString, bytes);
}

/** A BIT STRING of whole bytes (a key, a signature): zero unused bits. */
export function bitString(bytes: Uint8Array): Uint8Array {
  return tlv(TAG.bitString, concatBytes([Uint8Array.of(0), bytes]));
}

/**
 * A named-bit BIT STRING (keyUsage): `bits` are the bit numbers set (0 is the first, most
 * significant); DER drops trailing zero bits and counts the unused ones (X.690 11.2.2).
 */
export function namedBits(bits: readonly number[]): Uint8Array {
  if (bits.length === 0) return tlv(TAG.bitString, Uint8Array.of(0));
  const highest = Math.max(...bits);
  const bytes = new Uint8Array(Math.floor(highest / 8) + 1);
  for (const b of bits) bytes[Math.floor(b / 8)] = (bytes[Math.floor(b / 8)] as number) | (0x80 >> (b % 8));
  const unused = 7 - (highest % 8);
  return tlv(TAG.bitString, concatBytes([Uint8Array.of(unused), bytes]));
}

const encoder = new TextEncoder();

export function utf8String(text: string): Uint8Array {
  return tlv(TAG.utf8String, encoder.encode(text));
}

/** The bytes of an IA5String (ASCII; throws for a character outside it), for IMPLICIT tags such as a GeneralName's uniformResourceIdentifier [6]. */
export function ascii(text: string): Uint8Array {
  // eslint-disable-next-line no-control-regex
  if (!/^[\x00-\x7f]*$/.test(text)) throw new RangeError(`${JSON.stringify(text)} is not ASCII (IA5String)`);
  return encoder.encode(text);
}

export function ia5String(text: string): Uint8Array {
  return tlv(TAG.ia5String, ascii(text));
}

/** A context-specific tag [n]: constructed (EXPLICIT, or an IMPLICIT SEQUENCE) or primitive (IMPLICIT of a primitive). */
export function contextTag(n: number, contents: Uint8Array, constructed: boolean): Uint8Array {
  if (n < 0 || n > 30) throw new RangeError(`context tag [${n}] needs the long form, which this writer does not write`);
  return tlv(0x80 | (constructed ? 0x20 : 0) | n, contents);
}

/** [n] EXPLICIT: wraps one encoded value. */
export function explicit(n: number, value: Uint8Array): Uint8Array {
  return contextTag(n, value, true);
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** The UTC calendar date and time of `ms` since the epoch (H. Hinnant's civil_from_days), without reading any clock. */
export function utcFields(ms: number): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const secs = Math.floor(ms / 1000);
  const days = Math.floor(secs / 86_400);
  const tod = secs - days * 86_400;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day, hour: Math.floor(tod / 3600), minute: Math.floor((tod % 3600) / 60), second: tod % 60 };
}

/**
 * An X.509 Time (RFC 5280 4.1.2.5): UTCTime (YYMMDDHHMMSSZ) for the years 1950-2049,
 * GeneralizedTime (YYYYMMDDHHMMSSZ) otherwise; whole seconds, UTC. `ms` is since the epoch.
 */
export function x509Time(ms: number): Uint8Array {
  const t = utcFields(ms);
  if (t.year < 0 || t.year > 9999) throw new RangeError(`year ${t.year} cannot be written as an X.509 time`);
  const rest = `${pad(t.month, 2)}${pad(t.day, 2)}${pad(t.hour, 2)}${pad(t.minute, 2)}${pad(t.second, 2)}Z`;
  if (t.year >= 1950 && t.year < 2050) return tlv(TAG.utcTime, encoder.encode(`${pad(t.year % 100, 2)}${rest}`));
  return tlv(TAG.generalizedTime, encoder.encode(`${pad(t.year, 4)}${rest}`));
}
