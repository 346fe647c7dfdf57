/**
 * A msgpack writer for the hand-written encoders (the push-pull, which carries the whole member
 * table): it writes into one scratch buffer that is reused and grown on demand, so encoding
 * allocates only its result. It writes the same bytes msgpackr does for the same values, in the
 * smallest forms (test/wire/codec.test.ts checks this against msgpackr, a devDependency only: the
 * package carries our own msgpack, since msgpackr's optional native add-on made every consumer's
 * install ask to approve its build script).
 *
 * The scratch buffer is module state, but scratch only: never a result, filled and copied out
 * within one synchronous call.
 */

/** Scratch space the Writer reuses, grown on demand, so that encoding allocates only its result. */
let scratch = Buffer.allocUnsafe(64 * 1024);
/** The same memory as a plain Uint8Array: what `finish` copies out is a Uint8Array, not a Buffer. */
let scratchBytes = new Uint8Array(scratch.buffer, scratch.byteOffset, scratch.length);

/** Big-endian 16 and 32-bit writes without Buffer's argument checks (the bound is known). */
function put16(buf: Uint8Array, at: number, n: number): void {
  buf[at] = n >>> 8;
  buf[at + 1] = n;
}

function put32(buf: Uint8Array, at: number, n: number): void {
  buf[at] = n >>> 24;
  buf[at + 1] = n >>> 16;
  buf[at + 2] = n >>> 8;
  buf[at + 3] = n;
}

/** A msgpack writer into a reused buffer of at least the given bound. */
export class Writer {
  private buf: Buffer;
  /** The same memory as a plain Uint8Array (what `finish` copies out of). */
  private bytes: Uint8Array;
  private pos = 0;

  /**
   * A writer of at most `bound` bytes. With `own`, into a buffer of its own rather than the shared
   * scratch one: for what is encoded while another Writer is in use (a push-pull's records).
   */
  constructor(bound: number, own = false) {
    if (own) {
      this.buf = Buffer.allocUnsafe(bound);
      this.bytes = new Uint8Array(this.buf.buffer, this.buf.byteOffset, bound);
      return;
    }
    if (scratch.length < bound) {
      scratch = Buffer.allocUnsafe(Math.ceil(bound * 1.25));
      scratchBytes = new Uint8Array(scratch.buffer, scratch.byteOffset, scratch.length);
    }
    this.buf = scratch;
    this.bytes = scratchBytes;
  }

  /**
   * Makes room for `n` more bytes (a writer of the scratch buffer only): for a writer whose bound
   * was not known up front, before each part whose bound is.
   */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.ceil((this.pos + n) * 1.5));
    this.buf.copy(grown, 0, 0, this.pos);
    scratch = grown;
    scratchBytes = new Uint8Array(grown.buffer, grown.byteOffset, grown.length);
    this.buf = scratch;
    this.bytes = scratchBytes;
  }

  /** Bytes written so far. */
  get offset(): number {
    return this.pos;
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  /** Copies `src[start, end)` in as they are (bytes already encoded). */
  raw(src: Uint8Array, start: number, end: number): void {
    const buf = this.buf;
    const n = end - start;
    if (n <= 32) {
      let p = this.pos;
      for (let i = start; i < end; i++) buf[p++] = src[i]!;
    } else {
      buf.set(src.subarray(start, end), this.pos);
    }
    this.pos += n;
  }

  /** Writes again the bytes written at [start, end). */
  repeat(start: number, end: number): void {
    const buf = this.buf;
    const n = end - start;
    if (n <= 16) {
      let p = this.pos;
      for (let i = start; i < end; i++) buf[p++] = buf[i]!;
    } else {
      buf.copyWithin(this.pos, start, end);
    }
    this.pos += n;
  }

  uint(n: number): void {
    const buf = this.buf;
    if (n < 0x80) buf[this.pos++] = n;
    else if (n < 0x100) {
      buf[this.pos++] = 0xcc;
      buf[this.pos++] = n;
    } else if (n < 0x10000) {
      buf[this.pos++] = 0xcd;
      put16(buf, this.pos, n);
      this.pos += 2;
    } else {
      buf[this.pos++] = 0xce;
      put32(buf, this.pos, n);
      this.pos += 4;
    }
  }

  arrayHeader(n: number): void {
    const buf = this.buf;
    if (n < 16) buf[this.pos++] = 0x90 | n;
    else if (n < 0x10000) {
      buf[this.pos++] = 0xdc;
      put16(buf, this.pos, n);
      this.pos += 2;
    } else {
      buf[this.pos++] = 0xdd;
      put32(buf, this.pos, n);
      this.pos += 4;
    }
  }

  str(s: string): void {
    const buf = this.buf;
    const n = s.length;
    if (n < 32) {
      // Short strings (names, hosts, tags) are almost always ASCII: write them here rather than
      // crossing into the UTF-8 encoder, which costs more than the copy for a few bytes.
      let p = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
      if (i === n) {
        buf[this.pos] = 0xa0 | n;
        this.pos = p;
        return;
      }
    }
    // Reserve the largest header that the byte length could need, write, then fix up.
    const maxBytes = s.length * 3;
    const headerBytes = maxBytes < 32 ? 1 : maxBytes < 0x100 ? 2 : maxBytes < 0x10000 ? 3 : 5;
    const start = this.pos + headerBytes;
    const len = buf.write(s, start, 'utf8');
    const exactHeader = len < 32 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 5;
    if (exactHeader !== headerBytes) buf.copy(buf, this.pos + exactHeader, start, start + len);
    const p = this.pos;
    if (exactHeader === 1) buf[p] = 0xa0 | len;
    else if (exactHeader === 2) {
      buf[p] = 0xd9;
      buf[p + 1] = len;
    } else if (exactHeader === 3) {
      buf[p] = 0xda;
      put16(buf, p + 1, len);
    } else {
      buf[p] = 0xdb;
      put32(buf, p + 1, len);
    }
    this.pos = p + exactHeader + len;
  }

  bin(b: Uint8Array): void {
    const buf = this.buf;
    const n = b.length;
    if (n < 0x100) {
      buf[this.pos++] = 0xc4;
      buf[this.pos++] = n;
    } else if (n < 0x10000) {
      buf[this.pos++] = 0xc5;
      put16(buf, this.pos, n);
      this.pos += 2;
    } else {
      buf[this.pos++] = 0xc6;
      put32(buf, this.pos, n);
      this.pos += 4;
    }
    buf.set(b, this.pos);
    this.pos += n;
  }

  /** The written bytes, copied out of the scratch buffer. */
  /** Any number as msgpackr writes it: a 32-bit integer in its smallest form, anything else a float64. */
  number(n: number): void {
    if (n >>> 0 === n) {
      this.uint(n);
      return;
    }
    const buf = this.buf;
    if (n >> 0 === n) {
      if (n >= -0x20) buf[this.pos++] = 0x100 + n;
      else if (n >= -0x80) {
        buf[this.pos++] = 0xd0;
        buf[this.pos++] = n + 0x100;
      } else if (n >= -0x8000) {
        buf[this.pos++] = 0xd1;
        put16(buf, this.pos, n & 0xffff);
        this.pos += 2;
      } else {
        buf[this.pos++] = 0xd2;
        put32(buf, this.pos, n >>> 0);
        this.pos += 4;
      }
      return;
    }
    buf[this.pos++] = 0xcb;
    buf.writeDoubleBE(n, this.pos);
    this.pos += 8;
  }

  /** A value of the subset the protocol uses, arrays recursively. */
  value(v: Packable): void {
    if (v === null) this.byte(0xc0);
    else if (v === true) this.byte(0xc3);
    else if (v === false) this.byte(0xc2);
    else if (typeof v === 'number') this.number(v);
    else if (typeof v === 'string') this.str(v);
    else if (v instanceof Uint8Array) this.bin(v);
    else {
      this.arrayHeader(v.length);
      for (let i = 0; i < v.length; i++) this.value(v[i]!);
    }
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, this.pos);
  }
}

/** What the generic encoder writes: the msgpack subset the protocol uses (plus floats, which it never sends). */
export type Packable = null | boolean | number | string | Uint8Array | readonly Packable[];

/** An upper bound of a value's encoded size (UTF-8 is at most 3 bytes per UTF-16 unit). */
export function packedBound(v: Packable): number {
  if (typeof v === 'string') return 5 + 3 * v.length;
  if (v instanceof Uint8Array) return 5 + v.length;
  if (Array.isArray(v)) {
    let n = 5;
    for (let i = 0; i < v.length; i++) n += packedBound(v[i]!);
    return n;
  }
  return 9;
}

/** A value as msgpack, in a fresh array of its own (never a view into the scratch buffer). */
export function packCopy(value: Packable): Uint8Array {
  const w = new Writer(packedBound(value));
  w.value(value);
  return w.finish();
}
