/**
 * The dissemination queue. Every change (alive, suspect, dead about one member) is queued once,
 * already encoded, and piggybacked on outgoing packets until it has been sent
 * `retransmitLimit(N)` times. Least-sent changes go first; among equals the newest goes first.
 * A newer change about a member replaces the older one, which is never sent again.
 *
 * Layout: one doubly linked list per transmit count ("bucket"), so enqueue, replace, pick and
 * promote are all O(1); a pick walks the buckets from 0 upwards.
 */

interface Entry {
  readonly key: string;
  readonly bytes: Uint8Array;
  readonly tag: string | null;
  transmits: number;
  prev: Entry | null;
  next: Entry | null;
}

/** Called when a tagged broadcast has been sent its full budget (not when it was replaced). */
export type FinishedListener = (key: string, tag: string) => void;

/** Picks stop after skipping this many entries that did not fit, to bound the work per packet. */
const MAX_SKIPS = 256;
/** No message is smaller than this; below it a packet is full. */
const MIN_MESSAGE_BYTES = 4;

export class BroadcastQueue {
  private readonly byKey = new Map<string, Entry>();
  private heads: (Entry | null)[] = [];
  private readonly onFinished: FinishedListener | null;
  private queuedBytes = 0;

  constructor(onFinished: FinishedListener | null = null) {
    this.onFinished = onFinished;
  }

  /** Number of queued changes. */
  get size(): number {
    return this.byKey.size;
  }

  /** Total encoded bytes queued. */
  get bytes(): number {
    return this.queuedBytes;
  }

  /** Whether a change about `key` is queued. */
  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Queues `bytes` as the newest change about `key`, replacing any older one. */
  enqueue(key: string, bytes: Uint8Array, tag: string | null = null): void {
    const old = this.byKey.get(key);
    if (old !== undefined) this.remove(old);
    const entry: Entry = { key, bytes, tag, transmits: 0, prev: null, next: null };
    this.byKey.set(key, entry);
    this.queuedBytes += bytes.length;
    this.pushHead(entry);
  }

  /** Drops everything queued about `key`. */
  drop(key: string): void {
    const old = this.byKey.get(key);
    if (old !== undefined) this.remove(old);
  }

  /**
   * Appends to `out` the encoded changes that fit in `budgetBytes`, least-sent first, and counts a
   * transmission for each. Changes that reach `limit` transmissions leave the queue.
   * Returns the number of bytes appended.
   */
  take(budgetBytes: number, limit: number, out: Uint8Array[], maxCount = Number.POSITIVE_INFINITY): number {
    if (this.byKey.size === 0 || budgetBytes < MIN_MESSAGE_BYTES) return 0;
    let remaining = budgetBytes;
    let skips = 0;
    let picked: Entry[] | null = null;
    let count = 0;
    outer: for (let t = 0; t < this.heads.length; t++) {
      for (let e = this.heads[t] ?? null; e !== null; e = e.next) {
        if (e.bytes.length <= remaining) {
          (picked ??= []).push(e);
          remaining -= e.bytes.length;
          count++;
          if (remaining < MIN_MESSAGE_BYTES || count >= maxCount) break outer;
        } else if (++skips > MAX_SKIPS) {
          break outer;
        }
      }
    }
    if (picked === null) return 0;
    for (const e of picked) {
      out.push(e.bytes);
      this.unlink(e);
      e.transmits++;
      if (e.transmits >= limit) {
        this.byKey.delete(e.key);
        this.queuedBytes -= e.bytes.length;
        if (e.tag !== null && this.onFinished !== null) this.onFinished(e.key, e.tag);
      } else {
        this.pushHead(e);
      }
    }
    return budgetBytes - remaining;
  }

  /** Removes everything. */
  clear(): void {
    this.byKey.clear();
    this.heads = [];
    this.queuedBytes = 0;
  }

  private remove(e: Entry): void {
    this.unlink(e);
    this.byKey.delete(e.key);
    this.queuedBytes -= e.bytes.length;
  }

  private pushHead(e: Entry): void {
    while (this.heads.length <= e.transmits) this.heads.push(null);
    const head = this.heads[e.transmits] ?? null;
    e.prev = null;
    e.next = head;
    if (head !== null) head.prev = e;
    this.heads[e.transmits] = e;
  }

  private unlink(e: Entry): void {
    if (e.prev !== null) e.prev.next = e.next;
    else this.heads[e.transmits] = e.next;
    if (e.next !== null) e.next.prev = e.prev;
    e.prev = null;
    e.next = null;
  }
}
