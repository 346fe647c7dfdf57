/**
 * What a valid field is: the checks every decoded value passes before it is part of a message
 * (integers in range, strings within their byte limits, tag keys that are not reserved). The
 * limits themselves are in limits.ts; strings are checked as they are read (Reader.str).
 */

/** An integer in 0..0xFFFFFFFF (a seq, an incarnation, a digest). */
export function isU32(v: number): boolean {
  return v >>> 0 === v;
}

/** An integer in 1..65535. */
export function isPort(v: number): boolean {
  return v >= 1 && v <= 65535 && (v | 0) === v;
}

/** Whether `s` is at most `maxBytes` in UTF-8; measures bytes only when its length cannot decide. */
export function fitsBytes(s: string, maxBytes: number): boolean {
  const n = s.length;
  if (n * 3 <= maxBytes) return true;
  if (n > maxBytes) return false;
  return Buffer.byteLength(s, 'utf8') <= maxBytes;
}

/** Tag keys that would reach Object.prototype or confuse a reader of the tags object. */
export function isReservedTagKey(key: string): boolean {
  return key === '__proto__' || key === 'constructor' || key === 'prototype';
}
