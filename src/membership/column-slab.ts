/**
 * Typed-array columns carved out of a few large ArrayBuffers, for many member tables in one
 * process (the simulator's): a 10,000-node world holds 10^4 tables of about 200 KB of columns.
 * Allocated one by one, those are 4 × 10^4 ArrayBuffers, and V8 answers every few dozen megabytes
 * of new off-heap memory with a full garbage collection (45 of them, about 7 s, building that
 * world); carved out of slabs of up to 256 MB it runs a handful.
 *
 * The price: a column given up (its table grew or went away) stays allocated until every column of
 * its slab is unreachable. Tables whose size is known up front (a world built converged) are
 * `reserve`d for, so their slabs are sized to fit and nothing is carved twice. A production node
 * passes no slab and its table allocates plain typed arrays.
 */

/** Largest slab allocated at once. */
const MAX_SLAB_BYTES = 256 * 1024 * 1024;
/** First slab of a slab set without a reservation; each further one doubles, up to the largest. */
const MIN_SLAB_BYTES = 64 * 1024;
/** Every column starts at a multiple of this (a Float64Array needs 8). */
const ALIGN = 8;

export class ColumnSlab {
  private buffer: ArrayBuffer | null = null;
  private offset = 0;
  /** Bytes of slab allocated so far (the next unreserved slab is as large, within bounds). */
  private allocated = 0;
  /** Bytes announced by `reserve` and not yet carved. */
  private reserved = 0;

  /** Bytes of ArrayBuffer this slab set has allocated. */
  get bytes(): number {
    return this.allocated;
  }

  /**
   * Announces that about `bytes` of columns (rounded per column as `columnBytes` counts them) are
   * about to be asked for: the next slab is sized to hold them (in slabs of at most 256 MB).
   */
  reserve(bytes: number): void {
    this.reserved += bytes;
  }

  int32(length: number): Int32Array<ArrayBuffer> {
    const at = this.carve(4 * length);
    return new Int32Array(this.buffer as ArrayBuffer, at, length);
  }

  uint8(length: number): Uint8Array<ArrayBuffer> {
    const at = this.carve(length);
    return new Uint8Array(this.buffer as ArrayBuffer, at, length);
  }

  float64(length: number): Float64Array<ArrayBuffer> {
    const at = this.carve(8 * length);
    return new Float64Array(this.buffer as ArrayBuffer, at, length);
  }

  /** The offset of `bytes` fresh (zeroed, never carved) bytes in `this.buffer`. */
  private carve(bytes: number): number {
    const size = columnBytes(bytes);
    if (this.buffer === null || this.offset + size > this.buffer.byteLength) {
      const wanted = this.reserved > 0 ? this.reserved : Math.max(MIN_SLAB_BYTES, this.allocated);
      const slab = Math.max(size, Math.min(MAX_SLAB_BYTES, wanted));
      this.buffer = new ArrayBuffer(slab);
      this.offset = 0;
      this.allocated += slab;
    }
    const at = this.offset;
    this.offset += size;
    this.reserved = Math.max(0, this.reserved - size);
    return at;
  }
}

/** The bytes a column of `bytes` takes in a slab (rounded up to the alignment). */
export function columnBytes(bytes: number): number {
  return Math.ceil(bytes / ALIGN) * ALIGN;
}
