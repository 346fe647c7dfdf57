/**
 * Stream framing: each packet on a TCP connection is a 4-byte big-endian length followed by that
 * many bytes. The decoder accepts chunks as they come (a frame split over many chunks, many
 * frames in one chunk) and refuses a frame longer than its limit before buffering it.
 */

export const FRAME_HEADER_BYTES = 4;

/** The length prefix and the payload, as two buffers to write in order. */
export function frameParts(payload: Uint8Array): [Buffer, Buffer] {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(payload.length, 0);
  return [header, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)];
}

/** One buffer holding the framed payload. */
export function encodeFrame(payload: Uint8Array): Buffer {
  return Buffer.concat(frameParts(payload));
}

export type FrameResult =
  | { readonly ok: true; readonly frames: Buffer[] }
  | { readonly ok: false; readonly frames: Buffer[]; readonly tooLarge: number };

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed = false;

  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes held for an incomplete frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /**
   * Adds a chunk and returns every frame it completes. Once a length prefix announces more than
   * `maxFrameBytes` the decoder fails (the frames completed before it are still returned) and
   * accepts nothing more: the connection must be cut.
   */
  push(chunk: Uint8Array): FrameResult {
    const frames: Buffer[] = [];
    if (this.failed) return { ok: false, frames, tooLarge: -1 };
    if (chunk.length > 0) {
      this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.buffered += chunk.length;
    }
    while (this.buffered >= FRAME_HEADER_BYTES) {
      const head = this.head();
      const length = head.readUInt32BE(0);
      if (length > this.maxFrameBytes) {
        this.failed = true;
        this.chunks = [];
        this.buffered = 0;
        return { ok: false, frames, tooLarge: length };
      }
      if (this.buffered < FRAME_HEADER_BYTES + length) break;
      const all = this.head(FRAME_HEADER_BYTES + length);
      // Copy the frame out so that it does not pin the (possibly large) chunk it came in.
      frames.push(Buffer.from(all.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length)));
      const rest = all.subarray(FRAME_HEADER_BYTES + length);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
    }
    return { ok: true, frames };
  }

  /** Makes the first chunk hold at least `bytes` bytes (or everything) and returns it. */
  private head(bytes = FRAME_HEADER_BYTES): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= bytes) return first;
    const joined = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [joined];
    return joined;
  }
}
