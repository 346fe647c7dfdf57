/**
 * A binary min-heap of simulation events keyed by (time, seq).
 *
 * `seq` is a counter the heap assigns on push, so two events at the same time come out in the
 * order they went in: the simulation is deterministic without relying on a stable sort.
 *
 * Built for millions of events: the heap proper is three typed arrays (time, seq, slot) and each
 * event's payload lives in slot columns (a small integer kind, a node index, an auxiliary integer
 * and one object reference) recycled through a free list. Pushing allocates nothing once the
 * arrays have grown; popping copies the event into the `time`/`kind`/`node`/`aux`/`ref` fields of
 * the heap itself instead of returning an object.
 */
export class EventHeap<R> {
  /** Time of the event last popped. */
  time = 0;
  /** Kind of the event last popped. */
  kind = 0;
  /** Node index of the event last popped. */
  node = 0;
  /** Auxiliary integer of the event last popped. */
  aux = 0;
  /** Object reference of the event last popped (undefined once read is not required). */
  ref: R | undefined = undefined;

  private hTime: Float64Array;
  private hSeq: Float64Array;
  private hSlot: Int32Array;
  private sKind: Uint8Array;
  private sNode: Int32Array;
  private sAux: Int32Array;
  private sRef: (R | undefined)[];
  private free: Int32Array;
  private freeTop = 0;
  private slotsUsed = 0;
  private n = 0;
  private nextSeq = 0;

  constructor(initialCapacity = 1024) {
    const cap = Math.max(16, initialCapacity | 0);
    this.hTime = new Float64Array(cap);
    this.hSeq = new Float64Array(cap);
    this.hSlot = new Int32Array(cap);
    this.sKind = new Uint8Array(cap);
    this.sNode = new Int32Array(cap);
    this.sAux = new Int32Array(cap);
    this.sRef = new Array<R | undefined>(cap).fill(undefined);
    this.free = new Int32Array(cap);
  }

  /** Number of events waiting. */
  get size(): number {
    return this.n;
  }

  /** Events pushed so far (the next seq). */
  get pushed(): number {
    return this.nextSeq;
  }

  /** Time of the earliest event, or Infinity when empty. */
  peekTime(): number {
    return this.n === 0 ? Infinity : (this.hTime[0] as number);
  }

  /**
   * Adds an event. `kind` is an integer in [0, 255]; `node` and `aux` are 32-bit integers.
   * Times must be finite numbers; equal times pop in push order.
   */
  push(time: number, kind: number, node: number, aux: number, ref: R | undefined): void {
    if (this.n === this.hTime.length) this.grow();
    let slot: number;
    if (this.freeTop > 0) slot = this.free[--this.freeTop] as number;
    else slot = this.slotsUsed++;
    this.sKind[slot] = kind;
    this.sNode[slot] = node;
    this.sAux[slot] = aux;
    this.sRef[slot] = ref;
    const seq = this.nextSeq++;
    // sift up
    const hTime = this.hTime;
    const hSeq = this.hSeq;
    const hSlot = this.hSlot;
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = hTime[p] as number;
      if (pt < time || (pt === time && (hSeq[p] as number) < seq)) break;
      hTime[i] = pt;
      hSeq[i] = hSeq[p] as number;
      hSlot[i] = hSlot[p] as number;
      i = p;
    }
    hTime[i] = time;
    hSeq[i] = seq;
    hSlot[i] = slot;
  }

  /**
   * Removes the earliest event and copies it into `time`, `kind`, `node`, `aux` and `ref`.
   * Returns false (and changes nothing) when the heap is empty.
   */
  pop(): boolean {
    if (this.n === 0) return false;
    const hTime = this.hTime;
    const hSeq = this.hSeq;
    const hSlot = this.hSlot;
    const slot = hSlot[0] as number;
    this.time = hTime[0] as number;
    this.kind = this.sKind[slot] as number;
    this.node = this.sNode[slot] as number;
    this.aux = this.sAux[slot] as number;
    this.ref = this.sRef[slot];
    this.sRef[slot] = undefined;
    this.free[this.freeTop++] = slot;

    const last = --this.n;
    if (last > 0) {
      const t = hTime[last] as number;
      const s = hSeq[last] as number;
      const sl = hSlot[last] as number;
      // sift down
      let i = 0;
      const half = last >> 1;
      while (i < half) {
        let c = 2 * i + 1;
        let ct = hTime[c] as number;
        let cs = hSeq[c] as number;
        const r = c + 1;
        if (r < last) {
          const rt = hTime[r] as number;
          const rs = hSeq[r] as number;
          if (rt < ct || (rt === ct && rs < cs)) {
            c = r;
            ct = rt;
            cs = rs;
          }
        }
        if (t < ct || (t === ct && s < cs)) break;
        hTime[i] = ct;
        hSeq[i] = cs;
        hSlot[i] = hSlot[c] as number;
        i = c;
      }
      hTime[i] = t;
      hSeq[i] = s;
      hSlot[i] = sl;
    }
    return true;
  }

  /** Drops every event (the seq counter keeps counting). */
  clear(): void {
    this.n = 0;
    this.freeTop = 0;
    this.slotsUsed = 0;
    this.sRef.fill(undefined);
  }

  private grow(): void {
    const cap = this.hTime.length * 2;
    this.hTime = growF64(this.hTime, cap);
    this.hSeq = growF64(this.hSeq, cap);
    const hSlot = new Int32Array(cap);
    hSlot.set(this.hSlot);
    this.hSlot = hSlot;
    const sKind = new Uint8Array(cap);
    sKind.set(this.sKind);
    this.sKind = sKind;
    const sNode = new Int32Array(cap);
    sNode.set(this.sNode);
    this.sNode = sNode;
    const sAux = new Int32Array(cap);
    sAux.set(this.sAux);
    this.sAux = sAux;
    const old = this.sRef.length;
    this.sRef.length = cap;
    this.sRef.fill(undefined, old);
    const free = new Int32Array(cap);
    free.set(this.free);
    this.free = free;
  }
}

function growF64(a: Float64Array, cap: number): Float64Array {
  const b = new Float64Array(cap);
  b.set(a);
  return b;
}
