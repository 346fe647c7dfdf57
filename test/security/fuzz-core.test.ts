/**
 * Fuzzing the pure layers: the decoder, the envelope, and Membership cores running in the
 * simulator. fast-check draws seeds; each run pushes a batch of packets from a seeded PRNG, so a
 * failure prints the seed that replays it. Counts: fuzz-support.ts (HEARSAY_FUZZ_SCALE scales them).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Membership } from '../../src/membership/membership.js';
import { createWorld } from '../../src/sim/index.js';
import type { SimMember, SimMemberConfig } from '../../src/sim/world.js';
import type { Channel, Effect, Timer } from '../../src/membership/types.js';
import { Envelope } from '../../src/security/envelope.js';
import { generateKey, Keyring } from '../../src/security/keyring.js';
import { decodePacket } from '../../src/wire/codec.js';
import type { Address, MemberRecord, MemberState } from '../../src/wire/messages.js';
import { FUZZ_COUNTS, fuzzPacket, heapMb, mutate, Rng, validPackets } from './fuzz-support.js';

const RUNS = 50;

describe('fuzz: decoder', () => {
  it(`decodes ${FUZZ_COUNTS.decoder} random and mutated-valid packets without throwing, within its bounds`, () => {
    const corpus = validPackets(['a', 'b', 'node-with-a-longer-name'], 7946);
    const per = Math.ceil(FUZZ_COUNTS.decoder / RUNS);
    let total = 0;
    let accepted = 0;
    const heap0 = heapMb();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fff_ffff }), (seed) => {
        const rng = new Rng(seed);
        for (let i = 0; i < per; i++) {
          const p = fuzzPacket(rng, corpus);
          const r = decodePacket(p, { maxPacketBytes: 65_535, maxMembers: 1000 });
          total++;
          if (r.ok) {
            accepted++;
            expect(r.messages.length).toBeLessThanOrEqual(256);
          } else {
            expect(typeof r.error.code).toBe('string');
          }
        }
      }),
      { numRuns: RUNS },
    );
    expect(total).toBeGreaterThanOrEqual(FUZZ_COUNTS.decoder);
    expect(accepted).toBeGreaterThan(0); // the mutations also produce valid packets, so the core paths run
    expect(heapMb() - heap0).toBeLessThan(256);
  });
});

describe('fuzz: envelope', () => {
  it(`never authenticates a mutated, forged or random packet (${FUZZ_COUNTS.envelope} packets)`, () => {
    const k = generateKey();
    const mine = new Envelope({ keyring: Keyring.fromBase64([k]), label: 'prod' });
    const theirs = new Envelope({ keyring: Keyring.fromBase64([generateKey()]), label: 'prod' });
    const corpus = validPackets(['a'], 1);
    const per = Math.ceil(FUZZ_COUNTS.envelope / RUNS);
    let total = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fff_ffff }), (seed) => {
        const rng = new Rng(seed);
        for (let i = 0; i < per; i++) {
          const base = rng.pick(corpus);
          const genuine = mine.seal(base);
          let p: Uint8Array;
          switch (rng.int(3)) {
            case 0:
              p = mutate(rng, genuine, genuine);
              break;
            case 1:
              p = theirs.seal(base);
              break;
            default:
              p = fuzzPacket(rng, corpus);
          }
          const r = mine.open(p);
          total++;
          // A mutation may leave the packet intact (e.g. a duplicate appended then cut): only a
          // byte-identical packet may open.
          if (r.ok) expect(Buffer.from(p).equals(genuine)).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
    expect(total).toBeGreaterThanOrEqual(FUZZ_COUNTS.envelope);
  });
});

/** A Membership that also handles packets pushed into its inbox, at its next timer or packet. */
class Tapped implements SimMember {
  readonly inbox: { from: Address; packet: Uint8Array; channel: Channel }[] = [];
  handled = 0;
  constructor(private readonly m: Membership) {}
  get name(): string {
    return this.m.name;
  }
  get addr(): Address {
    return this.m.addr;
  }
  get incarnation(): number {
    return this.m.incarnation;
  }
  get left(): boolean {
    return this.m.left;
  }
  get counters(): Readonly<Record<string, number>> {
    return this.m.counters;
  }
  private drain(now: number): Effect[] {
    if (this.inbox.length === 0) return [];
    const out: Effect[] = [];
    for (const p of this.inbox.splice(0)) {
      this.handled++;
      out.push(...this.m.handlePacket(p.from, p.packet, p.channel, now));
    }
    return out;
  }
  start(now: number): Effect[] {
    return this.m.start(now);
  }
  join(seeds: readonly Address[], now: number): Effect[] {
    return this.m.join(seeds, now);
  }
  handlePacket(from: Address, packet: Uint8Array, channel: Channel, now: number): Effect[] {
    return [...this.drain(now), ...this.m.handlePacket(from, packet, channel, now)];
  }
  handleTimer(timer: Timer, now: number): Effect[] {
    return [...this.drain(now), ...this.m.handleTimer(timer, now)];
  }
  leave(now: number): Effect[] {
    return this.m.leave(now);
  }
  setLocalState(state: MemberState, now: number): Effect[] {
    return this.m.setLocalState(state, now);
  }
  restore(records: readonly MemberRecord[], now: number): void {
    this.m.restore(records, now);
  }
  members() {
    return this.m.members();
  }
  member(name: string) {
    return this.m.member(name);
  }
  statusOf(name: string) {
    return this.m.statusOf(name);
  }
}

describe('fuzz: Membership cores in the simulator', () => {
  it(`${FUZZ_COUNTS.sim} random and mutated packets into running sim nodes: no exception, incarnations only grow, tables stay bounded`, () => {
    const runs = 5;
    const per = Math.ceil(FUZZ_COUNTS.sim / runs);
    const MAX_MEMBERS = 64;
    let injected = 0;
    let handled = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fff_ffff }), (seed) => {
        const taps: Tapped[] = [];
        const world = createWorld({
          seed,
          profile: 'local',
          options: { maxMembers: MAX_MEMBERS },
          factory: (config: SimMemberConfig) => {
            const t = new Tapped(new Membership(config));
            taps.push(t);
            return t;
          },
        });
        const names = world.buildConverged(5);
        const rng = new Rng(seed);
        const corpus = validPackets([...names, 'ghost-1', 'ghost-2'], 1);
        const seen = new Map<string, number>();
        const batch = 500;
        for (let sent = 0; sent < per; sent += batch) {
          for (let i = 0; i < batch; i++) {
            const t = rng.pick(taps);
            t.inbox.push({ from: { host: 'fuzzer', port: 1 + rng.int(1000) }, packet: fuzzPacket(rng, corpus), channel: rng.int(4) === 0 ? 'stream' : 'datagram' });
            injected++;
          }
          world.runFor(2000);
          for (const t of taps) {
            const views = t.members();
            expect(views.length).toBeLessThanOrEqual(MAX_MEMBERS);
            for (const v of views) {
              const key = `${t.name}/${v.name}`;
              expect(v.incarnation).toBeGreaterThanOrEqual(seen.get(key) ?? 0);
              seen.set(key, v.incarnation);
            }
          }
        }
        world.runFor(5000);
        for (const t of taps) {
          expect(t.inbox.length).toBe(0);
          handled += t.handled;
        }
      }),
      { numRuns: runs },
    );
    expect(injected).toBeGreaterThanOrEqual(FUZZ_COUNTS.sim);
    expect(handled).toBe(injected);
  });
});
