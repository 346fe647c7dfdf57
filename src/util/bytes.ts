/** Byte-array helpers shared by every layer (pure). */

/** Whether two byte arrays (or nulls) hold the same bytes. */
export function bytesEqual(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === b) return true;
  if (a === null || b === null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The bytes of `parts`, one after another, in a new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Whether `s` is the string that the ASCII bytes `b[start..start+length)` decode to: its UTF-16
 * units are those bytes. The caller knows the bytes are ASCII (under 0x80).
 */
export function asciiEquals(s: string, b: Uint8Array, start: number, length: number): boolean {
  if (s.length !== length) return false;
  for (let i = 0; i < length; i++) if (s.charCodeAt(i) !== b[start + i]) return false;
  return true;
}
