/**
 * TCP ping fallback: a peer whose UDP is black-holed but whose TCP works stays alive through
 * stream probes, and the agent warns (once per interval) naming the likely misconfiguration.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Membership } from '../../src/membership/membership.js';
import { resolveOptions } from '../../src/membership/options.js';
import type { Effect } from '../../src/membership/types.js';
import { Transport } from '../../src/transport/transport.js';
import { SeededRandom } from '../../src/util/random.js';
import type { Address } from '../../src/wire/messages.js';
import { Agents, statusOf, waitFor } from './support.js';

const agents = new Agents();
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await agents.closeAll();
  await Promise.all(closers.splice(0).map((c) => c()));
});

/**
 * A member whose datagrams are all lost in both directions (a firewall dropping UDP): a real
 * Membership that only ever sees and answers streams. Its own timers never run.
 */
async function udpBlockedPeer(name: string): Promise<{ membership: Membership; transport: Transport }> {
  let membership: Membership | null = null;
  const handle = (effects: Effect[], replyTo?: Address, reply?: (f: Uint8Array) => void): void => {
    for (const e of effects) {
      if (e.type !== 'send' || e.channel !== 'stream') continue;
      if (e.to === replyTo && reply !== undefined) reply(e.packet);
      else {
        const to = e.to;
        void transport.dial(to, e.packet, (frame) => handle(membership?.handlePacket(to, frame, 'stream', 0) ?? []));
      }
    }
  };
  const transport = new Transport(
    { bind: { host: '127.0.0.1', port: 0 }, connectTimeoutMs: 1000, readTimeoutMs: 1000, maxStreamBytes: 1 << 20, logger: pino({ level: 'silent' }) },
    {
      onDatagram: () => {}, // black hole
      onStreamFrame: (from, frame, reply) => handle(membership?.handlePacket(from, frame, 'stream', 0) ?? [], from, reply),
    },
  );
  closers.push(() => transport.close());
  const addr = await transport.listen();
  membership = new Membership({ name, addr, options: resolveOptions({}, 'local'), random: new SeededRandom(1) });
  return { membership, transport };
}

describe('the TCP ping fallback', () => {
  it('probes a UDP-blocked peer over TCP and warns once that UDP looks misconfigured', async () => {
    const lines: { level: number; msg: string; peer?: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    const a = await agents.started('watcher', { logger });
    const peer = await udpBlockedPeer('udp-blocked');
    // The peer joins the watcher over TCP: a push-pull the watcher answers on the connection.
    const joinEffects = peer.membership.join([a.address], 0);
    expect(joinEffects.some((e) => e.type === 'send' && e.channel === 'stream')).toBe(true);
    await new Promise<void>((resolve) => {
      for (const e of joinEffects) {
        if (e.type === 'send' && e.channel === 'stream') {
          const to = e.to;
          void peer.transport.dial(to, e.packet, (f) => peer.membership.handlePacket(to, f, 'stream', 0)).then(() => resolve());
        }
      }
    });
    await waitFor('the watcher lists the peer', () => statusOf(a, 'udp-blocked') !== undefined);

    await waitFor('the watcher warned about UDP', () => lines.some((l) => l.peer === 'udp-blocked'), 10_000);
    const warning = lines.find((l) => l.peer === 'udp-blocked');
    expect(warning?.level).toBe(40);
    expect(warning?.msg).toContain('firewall');
    expect(warning?.msg).toContain('advertise address');
    expect(a.counters()['agent.streamProbeAcks']).toBeGreaterThanOrEqual(1);
    // More stream probes succeed, but the warning is rate-limited per peer.
    await waitFor('a second stream probe was acked', () => (a.counters()['agent.streamProbeAcks'] ?? 0) >= 2, 10_000);
    expect(lines.filter((l) => l.peer === 'udp-blocked')).toHaveLength(1);
    expect(a.counters()['agent.udpWarnings']).toBe(1);
  });
});
