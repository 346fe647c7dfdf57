/**
 * Connection slots cannot be starved: a few sources holding many slow or silent TCP connections to
 * the gossip port do not keep a new agent from joining, and members keep reserved slots.
 * Sources are told apart by their loopback address (127.0.0.5, 127.0.0.6, ...): Linux routes all
 * of 127/8 to lo.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/types.js';
import { Agents, allSee, waitFor } from '../agent/support.js';

const agents = new Agents();
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await agents.closeAll();
});

/** Opens `n` connections from `source` to the agent and keeps them dribbling a byte now and then. */
function hold(agent: Agent, source: string, n: number): Socket[] {
  const out: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = connect({ host: agent.address.host, port: agent.address.port, localAddress: source });
    s.on('error', () => undefined);
    const drip = setInterval(() => (s.destroyed ? clearInterval(drip) : s.write(Buffer.from([0]))), 300);
    drip.unref();
    sockets.push(s);
    out.push(s);
  }
  return out;
}

describe('inbound TCP slots', () => {
  it('a new agent joins while four sources hold 160 slow connections, each source capped and counted', async () => {
    const target = await agents.started('slot-target', { bind: { host: '127.0.0.2', port: 0 } });
    for (const source of ['127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8']) hold(target, source, 40);
    await waitFor('the caps refused the extra connections', () => (target.counters()['transport.dropped.source-limit'] ?? 0) >= 4 * (40 - 16), 10_000);
    expect(target.counters()['transport.stream.connectionsOpen']).toBeLessThanOrEqual(4 * 16);
    const joiner = await agents.started('slot-joiner', { bind: { host: '127.0.0.1', port: 0 } });
    expect(await joiner.join([target.address], { attempts: 1 })).toBe(1);
    await waitFor('both alive in both views', () => allSee([target, joiner], ['slot-target', 'slot-joiner'], 'alive'), 10_000);
  });

  it('keeps slots for members when strangers fill the rest', async () => {
    const target = await agents.started('reserve-target', { bind: { host: '127.0.0.2', port: 0 }, limits: { maxInboundConnections: 8, peerReservedConnections: 4, maxInboundPerSource: 100 } });
    // A member (its connections come from 127.0.0.1, its host in the view) joins first.
    const member = await agents.started('reserve-member', { bind: { host: '127.0.0.1', port: 0 } });
    expect(await member.join([target.address], { attempts: 1 })).toBe(1);
    await waitFor('both alive in both views', () => allSee([target, member], ['reserve-target', 'reserve-member'], 'alive'), 10_000);
    await new Promise((r) => setTimeout(r, 1100)); // the view of member hosts is refreshed once a second
    hold(target, '127.0.0.9', 12); // a stranger takes every slot it may: 8 - 4 reserved
    await waitFor('strangers refused beyond the unreserved slots', () => (target.counters()['transport.dropped.connection-limit'] ?? 0) >= 8, 10_000);
    expect(target.counters()['transport.stream.connectionsOpen']).toBe(4);
    // The member still exchanges state with it, through a reserved slot.
    expect(await member.join([target.address], { attempts: 1 })).toBe(1);
  });

  it('cuts a connection that sends no frame header within the header timeout', async () => {
    const target = await agents.started('header-target', { bind: { host: '127.0.0.2', port: 0 }, limits: { streamHeaderTimeoutMs: 100, streamIdleTimeoutMs: 60_000 } });
    const [silent] = hold(target, '127.0.0.10', 1);
    const gone = new Promise<void>((r) => silent?.once('close', () => r()));
    // It drips one byte every 300 ms: the 4-byte header is not there at 100 ms.
    await gone;
    expect(target.counters()['transport.dropped.read-timeout']).toBeGreaterThanOrEqual(1);
  });
});
