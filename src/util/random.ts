/**
 * A small, fast, seedable PRNG (sfc32, seeded through splitmix32). Pure: the same seed gives the
 * same sequence on every machine, which is what makes simulations replayable.
 */
/** The randomness the pure layers draw from: injected, so that a seed replays a run. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class SeededRandom implements Random {
  /**
   * sfc32's four state words, in an Int32Array: the same bits as uint32 words, but a number field
   * holding a 32-bit value is a boxed heap number in V8 (small integers stop at 2^30), rewritten on
   * every draw; that made a draw cost about 55 ns, and a 10,000-node world makes 10^8 of them
   * building its tables.
   */
  private readonly s = new Int32Array(4);

  constructor(seed: number) {
    const mix = splitmix32(Math.floor(seed) ^ Math.floor(seed / 0x100000000));
    const s = this.s;
    s[0] = mix();
    s[1] = mix();
    s[2] = mix();
    s[3] = mix();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const s = this.s;
    const a = s[0] as number;
    const b = s[1] as number;
    const c = s[2] as number;
    const d = s[3] as number;
    const t = (((a + b) | 0) + d) | 0;
    s[3] = d + 1;
    s[0] = b ^ (b >>> 9);
    s[1] = c + (c << 3);
    s[2] = ((c << 21) | (c >>> 11)) + t;
    return t >>> 0;
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A new independent generator derived from this one (for per-node streams). */
  fork(): SeededRandom {
    return new SeededRandom(this.nextUint32() * 4294967296 + this.nextUint32());
  }
}
