/**
 * A growable byte buffer for hand-written binary formats (the registry payload, the state codec):
 * appends, doubling its capacity as needed, and returns a copy of exactly what was written.
 */
export class ByteWriter {
  private buf: Uint8Array;
  pos = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(Math.max(16, capacity));
  }

  /** Makes room for `n` more bytes and returns the buffer to write them at `pos`. */
  protected room(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < this.pos + n) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.pos));
      this.buf = next;
    }
    return this.buf;
  }

  u8(v: number): void {
    this.room(1)[this.pos++] = v;
  }

  /** Big-endian 16 bits. */
  u16(v: number): void {
    const b = this.room(2);
    b[this.pos++] = v >>> 8;
    b[this.pos++] = v & 0xff;
  }

  bytes(src: Uint8Array): void {
    this.room(src.length).set(src, this.pos);
    this.pos += src.length;
  }

  done(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}
