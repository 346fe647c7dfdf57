/**
 * A cursor over a packet that the pre-scan (prescan.ts) accepted: it reads one msgpack value at a
 * time, in the forms the pre-scan admits, and reads values exactly as msgpackr reads them (any
 * integer form, strings as UTF-8 with U+FFFD for invalid sequences as TextDecoder gives), so the
 * decoder built on it accepts the same packets and values as a general msgpack decoder followed by
 * the same checks (test/wire/reference-decoder.ts is that decoder, kept to compare against).
 *
 * Every read of a value of another type returns a sentinel (NaN, undefined, -1) and leaves the
 * position wherever it is: the caller then drops the packet, so nothing reads on. Reads past the
 * end of `b` cannot happen after the pre-scan; they would give undefined bytes, which no check
 * takes for a valid value.
 */
import { fitsBytes } from './validation.js';

/** Strings of up to this many bytes are built from char codes (cheaper than a decoder call). */
const SHORT_STRING_BYTES = 32;
/** Char-code arrays by exact length, reused to build short strings (scratch: filled and used at once). */
const charCodes: number[][] = Array.from({ length: SHORT_STRING_BYTES + 1 }, (_, n) => new Array<number>(n).fill(0));
/** What binHeader returns for nil. */
const NIL = -2;
/** Keeps a leading U+FEFF (a byte order mark is part of a name, as msgpackr reads it). */
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** A 32-bit big-endian unsigned integer at b[at..at+3]. */
function u32(b: Uint8Array, at: number): number {
  return b[at]! * 0x100_0000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

export class Reader {
  pos: number;

  constructor(
    readonly b: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }

  /** The length of the array at the cursor, or -1 if the value there is not an array. */
  arrayHeader(): number {
    const b = this.b;
    const rp = this.pos;
    const t = b[rp]!;
    if (t >= 0x90 && t <= 0x9f) {
      this.pos = rp + 1;
      return t & 0x0f;
    }
    if (t === 0xdc) {
      this.pos = rp + 3;
      return (b[rp + 1]! << 8) | b[rp + 2]!;
    }
    if (t === 0xdd) {
      this.pos = rp + 5;
      return u32(b, rp + 1);
    }
    return -1;
  }

  /** The integer at the cursor (any msgpack integer form), or NaN if the value there is not one. */
  int(): number {
    const b = this.b;
    const rp = this.pos;
    const t = b[rp]!;
    if (t < 0x80) {
      this.pos = rp + 1;
      return t;
    }
    if (t >= 0xe0) {
      this.pos = rp + 1;
      return t - 0x100;
    }
    if (t >= 0xcc && t <= 0xce) return this.sizedLength(0xcc); // uint 8, 16, 32: read as lengths are
    switch (t) {
      case 0xd0:
        this.pos = rp + 2;
        return (b[rp + 1]! << 24) >> 24;
      case 0xd1:
        this.pos = rp + 3;
        return (((b[rp + 1]! << 8) | b[rp + 2]!) << 16) >> 16;
      case 0xd2:
        this.pos = rp + 5;
        return (b[rp + 1]! << 24) | (b[rp + 2]! << 16) | (b[rp + 3]! << 8) | b[rp + 4]!;
      default:
        return NaN;
    }
  }

  /** The boolean at the cursor, or undefined if the value there is not one. */
  bool(): boolean | undefined {
    const t = this.b[this.pos]!;
    if (t === 0xc3 || t === 0xc2) {
      this.pos++;
      return t === 0xc3;
    }
    return undefined;
  }

  /**
   * The string at the cursor if it is one of at least `minBytes` (0 or 1) and at most `maxBytes`
   * UTF-8 bytes once decoded; undefined for any other value. Decoding never makes a string shorter
   * in UTF-8 (an invalid sequence of 1 to 3 bytes becomes the 3-byte U+FFFD), so a string whose
   * raw bytes exceed `maxBytes` is refused before it is decoded.
   */
  str(minBytes: number, maxBytes: number): string | undefined {
    const n = this.strHeader();
    if (n < 0) return undefined;
    const b = this.b;
    const start = this.pos;
    if (n < minBytes || n > maxBytes) return undefined;
    const end = start + n;
    this.pos = end;
    if (n <= SHORT_STRING_BYTES) {
      const codes = charCodes[n]!;
      let i = 0;
      for (; i < n; i++) {
        const c = b[start + i]!;
        if (c >= 0x80) break;
        codes[i] = c;
      }
      if (i === n) return String.fromCharCode.apply(null, codes);
    }
    // ASCII beyond 32 bytes, or any string with a byte over 0x7f: for ASCII, bytes and UTF-16
    // units agree, so the check below only measures a string that is not.
    const s = utf8.decode(b.subarray(start, end));
    return fitsBytes(s, maxBytes) ? s : undefined;
  }

  /**
   * The byte length of the string at the cursor, the cursor moved to its first byte (its bytes
   * are b[pos..pos+length)), or -1 if the value there is not a string. Reads nothing else.
   */
  strHeader(): number {
    const t = this.b[this.pos]!;
    if (t >= 0xa0 && t <= 0xbf) {
      this.pos++;
      return t & 0x1f;
    }
    return this.sizedLength(0xd9);
  }

  /**
   * The length of a value in msgpack's forms with an 8, 16 or 32-bit length (type bytes `form8`
   * and the two after it: str 0xd9, bin 0xc4; uint 0xcc reads alike), the cursor moved to its
   * first byte; -1 for any other type byte.
   */
  private sizedLength(form8: number): number {
    const b = this.b;
    const rp = this.pos;
    switch (b[rp]! - form8) {
      case 0:
        this.pos = rp + 2;
        return b[rp + 1]!;
      case 1:
        this.pos = rp + 3;
        return (b[rp + 1]! << 8) | b[rp + 2]!;
      case 2:
        this.pos = rp + 5;
        return u32(b, rp + 1);
      default:
        return -1;
    }
  }

  /**
   * Whether `str(minBytes, maxBytes)` would return a string here, moving past it if so, without
   * building the string when its bytes are ASCII (their UTF-16 units are the bytes: nothing to
   * decode, and the byte count is the length). Other bytes are decoded and measured as `str` does.
   */
  skipStr(minBytes: number, maxBytes: number): boolean {
    const rp = this.pos;
    const n = this.strHeader();
    if (n < 0 || n < minBytes || n > maxBytes) {
      this.pos = rp;
      return false;
    }
    const b = this.b;
    const start = this.pos;
    const end = start + n;
    for (let i = start; i < end; i++) {
      if (b[i]! >= 0x80) {
        this.pos = rp;
        return this.str(minBytes, maxBytes) !== undefined;
      }
    }
    this.pos = end;
    return true;
  }

  /** Whether `payload(maxBytes)` would return a value here (null or bytes), moving past it if so. */
  skipPayload(maxBytes: number): boolean {
    const n = this.binHeader();
    if (n === NIL) return true;
    if (n < 0 || n > maxBytes) return false;
    this.pos += n;
    return true;
  }

  /**
   * The payload at the cursor: null for nil, a view into the packet for a bin of at most
   * `maxBytes`, undefined for anything else.
   */
  payload(maxBytes: number): Uint8Array | null | undefined {
    const n = this.binHeader();
    if (n === NIL) return null;
    if (n < 0 || n > maxBytes) return undefined;
    const at = this.pos;
    this.pos = at + n;
    return this.b.subarray(at, at + n);
  }

  /**
   * The byte length of the bin at the cursor, the cursor moved to its first byte; NIL for nil (the
   * cursor moved past it); -1 for any other value.
   */
  private binHeader(): number {
    if (this.b[this.pos] === 0xc0) {
      this.pos++;
      return NIL;
    }
    return this.sizedLength(0xc4);
  }

  /** What `typeof` says of the value at the cursor once decoded ('object' for nil, bin and arrays). */
  typeOf(): string {
    const t = this.b[this.pos]!;
    if (t < 0x80 || t >= 0xe0 || (t >= 0xcc && t <= 0xce) || (t >= 0xd0 && t <= 0xd2)) return 'number';
    if ((t >= 0xa0 && t <= 0xbf) || (t >= 0xd9 && t <= 0xdb)) return 'string';
    if (t === 0xc2 || t === 0xc3) return 'boolean';
    return 'object';
  }
}
