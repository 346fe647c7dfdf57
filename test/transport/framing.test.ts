import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder } from '../../src/transport/framing.js';

const bytes = (...values: number[]): Buffer => Buffer.from(values);

describe('FrameDecoder', () => {
  it('reassembles a frame split over many chunks, even inside the length prefix', () => {
    const payload = Buffer.from('hello, stream');
    const framed = encodeFrame(payload);
    const d = new FrameDecoder(1024);
    const out: Buffer[] = [];
    for (let i = 0; i < framed.length; i++) {
      const r = d.push(framed.subarray(i, i + 1));
      expect(r.ok).toBe(true);
      out.push(...r.frames);
    }
    expect(out).toEqual([payload]);
    expect(d.pendingBytes).toBe(0);
  });

  it('returns every frame of a chunk holding several, and keeps the incomplete tail', () => {
    const a = Buffer.from('first');
    const b = Buffer.from('second');
    const c = Buffer.from('third, split');
    const all = Buffer.concat([encodeFrame(a), encodeFrame(b), encodeFrame(c)]);
    const cut = all.length - 3;
    const d = new FrameDecoder(1024);
    const first = d.push(all.subarray(0, cut));
    expect(first.frames).toEqual([a, b]);
    expect(d.pendingBytes).toBe(4 + c.length - 3);
    expect(d.push(all.subarray(cut)).frames).toEqual([c]);
  });

  it('delivers an empty frame as an empty buffer', () => {
    const d = new FrameDecoder(16);
    expect(d.push(bytes(0, 0, 0, 0)).frames).toEqual([Buffer.alloc(0)]);
  });

  it('fails on a length prefix over the limit before buffering the frame, and accepts nothing after', () => {
    const d = new FrameDecoder(10);
    const ok = Buffer.from('ok');
    const r = d.push(Buffer.concat([encodeFrame(ok), bytes(0, 0, 0, 11), Buffer.alloc(11)]));
    expect(r.ok).toBe(false);
    expect(r.frames).toEqual([ok]);
    if (!r.ok) expect(r.tooLarge).toBe(11);
    expect(d.pendingBytes).toBe(0);
    expect(d.push(encodeFrame(ok)).ok).toBe(false);
  });

  it('accepts a frame of exactly the limit', () => {
    const d = new FrameDecoder(10);
    expect(d.push(encodeFrame(Buffer.alloc(10, 7))).frames).toEqual([Buffer.alloc(10, 7)]);
  });
});
