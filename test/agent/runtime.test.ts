/**
 * The runtime's "answer first" rule (src/agent/runtime.ts): the effects of a stream frame that
 * only tell or start something (its events, the stream exchanges it starts) wait for the next turn
 * of the event loop, while its replies, datagrams and timers go out at once and a join's
 * completion is told at once. Real cores, a transport that records what it is asked to do.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { CoreRuntime, type RuntimeTransport } from '../../src/agent/runtime.js';
import { Membership } from '../../src/membership/membership.js';
import { LAN } from '../../src/membership/options.js';
import type { Effect, MembershipEvent } from '../../src/membership/types.js';
import type { DialResult } from '../../src/transport/transport.js';
import { encodeMessage, encodePacket } from '../../src/wire/codec.js';
import { SeededRandom } from '../../src/util/random.js';
import type { Address } from '../../src/wire/messages.js';

const options = LAN;
const addr = (port: number): Address => ({ host: '127.0.0.1', port });
const core = (name: string, port: number, random: SeededRandom): Membership =>
  new Membership({ name, addr: addr(port), options, random: random.fork(), stateLayer: { entries: [{ key: `k-${name}`, value: new Uint8Array([1]) }] } });

interface Recorded {
  readonly to: Address;
  readonly frame: Uint8Array;
  readonly onFrame: (frame: Uint8Array) => void;
}

class RecordingTransport implements RuntimeTransport {
  readonly dials: Recorded[] = [];
  readonly datagrams: Address[] = [];
  sendDatagram(to: Address): void {
    this.datagrams.push(to);
  }
  dial(to: Address, frame: Uint8Array, onFrame: (frame: Uint8Array) => void): Promise<DialResult> {
    this.dials.push({ to, frame, onFrame });
    return new Promise(() => {}); // never ends: the test feeds the answer through onFrame
  }
}

/** The stream frame `effects` sends to `to`, if any. */
function streamTo(effects: readonly Effect[], to: Address): Uint8Array | undefined {
  for (const e of effects) if (e.type === 'send' && e.channel === 'stream' && e.to.host === to.host && e.to.port === to.port) return e.packet;
  return undefined;
}

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('CoreRuntime: the answer first', () => {
  it("tells a join's completion at once and delivers the answer's events and starts its exchanges on the next turn, in order", async () => {
    const random = new SeededRandom(7);
    // A seed that already knows five members (each joined it through a core-to-core exchange).
    const seed = core('seed', 7000, random);
    seed.start(0);
    for (let i = 1; i <= 5; i++) {
      const peer = core(`peer-${i}`, 7000 + i, random);
      peer.start(0);
      const request = streamTo(peer.join([addr(7000)], 0), addr(7000));
      if (request === undefined) throw new Error('no join request');
      const from = addr(7000 + i);
      seed.handlePacket(from, request, 'stream', 0);
    }
    expect(seed.members()).toHaveLength(6);

    const transport = new RecordingTransport();
    const events: MembershipEvent[] = [];
    const answered: Address[] = [];
    const runtime = new CoreRuntime(core('joiner', 7100, random), transport, { onEvent: (e) => events.push(e), onReport: () => {}, onAnswered: (p) => answered.push(p), live: () => true }, pino({ level: 'silent' }));
    runtime.run((c, t) => c.start(t));
    // The join's own exchange is dialed at once (join() needs its result).
    const dials = runtime.run((c, t) => c.join([addr(7000)], t));
    expect(dials.map((d) => d.to)).toEqual([addr(7000)]);
    expect(transport.dials).toHaveLength(1);
    const join = transport.dials[0] as Recorded;
    // The seed answers; the answer arrives on the joiner's connection.
    const from = { ...addr(7100) };
    const reply = streamTo(seed.handlePacket(from, join.frame, 'stream', 1), from);
    if (reply === undefined) throw new Error('the seed did not answer');
    join.onFrame(reply);

    // In this turn: the table is merged and the join is answered ...
    expect(runtime.core.members()).toHaveLength(7);
    expect(answered).toEqual([addr(7000)]);
    // ... but no event was delivered yet and the state exchange with the seed is not dialed yet.
    expect(events).toEqual([]);
    expect(transport.dials).toHaveLength(1);

    await nextTurn();
    // Next turn: the six joins, then the exchange's completion, in the core's order ...
    const types = events.map((e) => e.type);
    expect(types).toEqual([...Array<string>(6).fill('member-join'), 'push-pull-complete']);
    expect(events.flatMap((e) => (e.type === 'member-join' ? [e.member.name] : [])).sort()).toEqual(['peer-1', 'peer-2', 'peer-3', 'peer-4', 'peer-5', 'seed']);
    // ... and the joiner's state exchange with its seed went out.
    expect(transport.dials).toHaveLength(2);
    expect((transport.dials[1] as Recorded).to).toEqual(addr(7000));
  });

  it("keeps the core's order: a later input's events queue behind the waiting ones", async () => {
    const random = new SeededRandom(8);
    const a = core('a', 7200, random);
    const b = core('b', 7201, random);
    a.start(0);
    b.start(0);
    const transport = new RecordingTransport();
    const events: string[] = [];
    const runtime = new CoreRuntime(b, transport, { onEvent: (e) => events.push(`${e.type}${'member' in e ? ` ${e.member.name}` : ''}`), onReport: () => {}, live: () => true }, pino({ level: 'silent' }));
    // a joins b: b receives a's push-pull on an accepted connection and answers on it at once.
    const request = streamTo(a.join([addr(7201)], 0), addr(7201));
    if (request === undefined) throw new Error('no join request');
    const answers: Uint8Array[] = [];
    runtime.receive({ ...addr(7200) }, request, 'stream', (f) => answers.push(f));
    expect(answers).toHaveLength(1);
    expect(events).toEqual([]);
    // Before the next turn, a datagram (handled at once) accuses a: its event must not overtake the
    // join's.
    runtime.receive(addr(7202), encodePacket([encodeMessage({ type: 'suspect', node: 'a', incarnation: 0, from: 'c' })]), 'datagram');
    expect(runtime.core.members().find((m) => m.name === 'a')?.status).toBe('suspect');
    expect(events).toEqual([]);
    await nextTurn();
    expect(events.slice(0, 2)).toEqual(['member-join a', 'member-suspect a']);
    runtime.close();
  });
});
