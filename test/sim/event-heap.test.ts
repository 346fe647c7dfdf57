import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventHeap } from '../../src/sim/event-heap.js';

function drain(heap: EventHeap<string>): [number, number, number, number, string | undefined][] {
  const out: [number, number, number, number, string | undefined][] = [];
  while (heap.pop()) out.push([heap.time, heap.kind, heap.node, heap.aux, heap.ref]);
  return out;
}

describe('EventHeap', () => {
  it('pops events in time order and copies every field of the event', () => {
    const heap = new EventHeap<string>();
    heap.push(30, 3, 300, -3, 'c');
    heap.push(10, 1, 100, -1, 'a');
    heap.push(20.5, 2, 200, -2, undefined);
    expect(drain(heap)).toEqual([
      [10, 1, 100, -1, 'a'],
      [20.5, 2, 200, -2, undefined],
      [30, 3, 300, -3, 'c'],
    ]);
  });

  it('pops events with equal times in the order they were pushed', () => {
    const heap = new EventHeap<string>();
    for (let i = 0; i < 100; i++) heap.push(5, 0, i, 0, undefined);
    expect(drain(heap).map((e) => e[2])).toEqual([...Array(100).keys()]);
  });

  it('returns false and keeps its state when popped empty', () => {
    const heap = new EventHeap<string>();
    expect(heap.pop()).toBe(false);
    expect(heap.size).toBe(0);
    expect(heap.peekTime()).toBe(Infinity);
  });

  it('grows past its initial capacity without losing events', () => {
    const heap = new EventHeap<number>(16);
    for (let i = 0; i < 10_000; i++) heap.push((i * 7919) % 1000, 1, i, 0, i);
    expect(heap.size).toBe(10_000);
    let last = -Infinity;
    let count = 0;
    const seen = new Set<number>();
    while (heap.pop()) {
      expect(heap.time).toBeGreaterThanOrEqual(last);
      expect(heap.ref).toBe(heap.node);
      last = heap.time;
      seen.add(heap.node);
      count++;
    }
    expect(count).toBe(10_000);
    expect(seen.size).toBe(10_000);
  });

  it('orders any interleaving of pushes and pops by (time, push order)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 50 }).map((t) => ({ push: t })), fc.constant({ push: -1 })), { maxLength: 400 }),
        (ops) => {
          const heap = new EventHeap<number>(16);
          const model: { time: number; seq: number }[] = [];
          let seq = 0;
          for (const op of ops) {
            if (op.push >= 0) {
              heap.push(op.push, 0, seq, 0, seq);
              model.push({ time: op.push, seq: seq++ });
            } else {
              model.sort((a, b) => a.time - b.time || a.seq - b.seq);
              const want = model.shift();
              expect(heap.pop()).toBe(want !== undefined);
              if (want !== undefined) {
                expect(heap.time).toBe(want.time);
                expect(heap.node).toBe(want.seq);
                expect(heap.ref).toBe(want.seq);
              }
            }
          }
          expect(heap.size).toBe(model.length);
        },
      ),
    );
  });

  it('reuses slots so that references do not outlive their events', () => {
    const heap = new EventHeap<object>(16);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 100; i++) heap.push(i, 0, i, 0, { i });
      while (heap.pop()) expect((heap.ref as { i: number }).i).toBe(heap.node);
    }
    expect(heap.pushed).toBe(500);
  });
});
