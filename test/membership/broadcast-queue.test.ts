import { describe, expect, it } from 'vitest';
import { BroadcastQueue } from '../../src/membership/broadcast-queue.js';

const bytes = (n: number, fill = 1): Uint8Array => new Uint8Array(n).fill(fill);

describe('the broadcast queue', () => {
  it('sends each change at most the limit, then forgets it', () => {
    const q = new BroadcastQueue();
    q.enqueue('a', bytes(10));
    for (let i = 0; i < 3; i++) {
      const out: Uint8Array[] = [];
      q.take(1000, 3, out);
      expect(out).toHaveLength(1);
    }
    const out: Uint8Array[] = [];
    q.take(1000, 3, out);
    expect(out).toHaveLength(0);
    expect(q.size).toBe(0);
  });

  it('sends least-sent changes first', () => {
    const q = new BroadcastQueue();
    q.enqueue('old', bytes(100, 1));
    const first: Uint8Array[] = [];
    q.take(1000, 10, first);
    q.enqueue('new', bytes(100, 2));
    const out: Uint8Array[] = [];
    q.take(150, 10, out); // room for one
    expect(out[0]?.[0]).toBe(2);
  });

  it('prefers the newest among equally sent changes', () => {
    const q = new BroadcastQueue();
    q.enqueue('a', bytes(100, 1));
    q.enqueue('b', bytes(100, 2));
    const out: Uint8Array[] = [];
    q.take(150, 10, out);
    expect(out[0]?.[0]).toBe(2);
  });

  it('replaces an older change about the same member', () => {
    const q = new BroadcastQueue();
    q.enqueue('a', bytes(10, 1));
    q.enqueue('a', bytes(10, 2));
    expect(q.size).toBe(1);
    const out: Uint8Array[] = [];
    q.take(1000, 10, out);
    expect(out).toHaveLength(1);
    expect(out[0]?.[0]).toBe(2);
  });

  it('packs within the byte budget, skipping changes that do not fit', () => {
    const q = new BroadcastQueue();
    q.enqueue('big', bytes(900));
    q.enqueue('small1', bytes(50));
    q.enqueue('small2', bytes(50));
    const out: Uint8Array[] = [];
    const used = q.take(120, 10, out);
    expect(used).toBe(100);
    expect(out.map((b) => b.length)).toEqual([50, 50]);
    expect(q.size).toBe(3);
  });

  it('never puts the same change twice into one packet', () => {
    const q = new BroadcastQueue();
    q.enqueue('a', bytes(10));
    const out: Uint8Array[] = [];
    q.take(10_000, 10, out);
    expect(out).toHaveLength(1);
  });

  it('reports a tagged change once it has been sent its full budget', () => {
    const finished: string[] = [];
    const q = new BroadcastQueue((key, tag) => finished.push(`${key}:${tag}`));
    q.enqueue('me', bytes(10), 'leave');
    q.take(100, 2, []);
    expect(finished).toEqual([]);
    q.take(100, 2, []);
    expect(finished).toEqual(['me:leave']);
  });

  it('does not report a tagged change that was replaced', () => {
    const finished: string[] = [];
    const q = new BroadcastQueue((key, tag) => finished.push(`${key}:${tag}`));
    q.enqueue('me', bytes(10), 'leave');
    q.enqueue('me', bytes(10));
    q.take(100, 1, []);
    expect(finished).toEqual([]);
  });

  it('spreads sends evenly: after k picks of one each, every change was sent about k/n times', () => {
    const q = new BroadcastQueue();
    for (let i = 0; i < 10; i++) q.enqueue(`m${i}`, bytes(10, i));
    const counts = new Map<number, number>();
    for (let round = 0; round < 30; round++) {
      const out: Uint8Array[] = [];
      q.take(10, 100, out);
      const id = out[0]?.[0] ?? -1;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (let i = 0; i < 10; i++) expect(counts.get(i)).toBe(3);
  });
});
