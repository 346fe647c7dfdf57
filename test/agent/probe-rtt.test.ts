/**
 * Probe round trips: timed by the agent on its own clock from the core's probe-sent and
 * probe-acked reports (the core reads no clock), and kept per path as hearsay_probe_rtt_seconds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ProbeRtt } from '../../src/agent/probe-rtt.js';
import { Agents, hostPort, waitFor } from './support.js';

describe('ProbeRtt', () => {
  it('observes the time from a probe-sent report to the probe-acked report of the same probe, by path', () => {
    let t = 1000.25;
    const rtt = new ProbeRtt(() => t);
    rtt.report({ kind: 'probe-sent', seq: 7, member: 'b' });
    t += 0.75;
    rtt.report({ kind: 'probe-acked', seq: 7, member: 'b', path: 'direct' });
    rtt.report({ kind: 'probe-sent', seq: 8, member: 'c' });
    t += 600;
    rtt.report({ kind: 'probe-acked', seq: 8, member: 'c', path: 'indirect' });
    const h = rtt.histograms();
    expect(h['probeRtt.direct']).toMatchObject({ count: 1, sum: 0.00075 });
    expect(h['probeRtt.direct']?.cumulative.slice(0, 4)).toEqual([0, 0, 0, 1]); // <= 0.001 s
    expect(h['probeRtt.indirect']).toMatchObject({ count: 1, sum: 0.6 });
    expect(h['probeRtt.stream']).toMatchObject({ count: 0, sum: 0 });
  });

  it('ignores an ack of another probe than the one it saw start, a second ack, and other reports', () => {
    let t = 0;
    const rtt = new ProbeRtt(() => t);
    rtt.report({ kind: 'probe-acked', seq: 1, member: 'b', path: 'direct' }); // never saw it start
    rtt.report({ kind: 'probe-sent', seq: 2, member: 'b' });
    t = 5;
    rtt.report({ kind: 'probe-acked', seq: 3, member: 'b', path: 'direct' });
    rtt.report({ kind: 'stream-probe-acked', member: 'b', addr: { host: 'h', port: 1 } });
    rtt.report({ kind: 'probe-acked', seq: 2, member: 'b', path: 'stream' });
    rtt.report({ kind: 'probe-acked', seq: 2, member: 'b', path: 'stream' });
    const h = rtt.histograms();
    expect(h['probeRtt.direct']?.count).toBe(0);
    expect(h['probeRtt.stream']).toMatchObject({ count: 1, sum: 0.005 });
  });
});

describe('an agent', () => {
  const agents = new Agents();
  afterEach(() => agents.closeAll());

  it('times the direct round trips of its probes of a real peer', async () => {
    const a = await agents.started('rtt-a');
    const b = await agents.started('rtt-b');
    await a.join([hostPort(b)]);
    await waitFor('three probes of rtt-b answered', () => (a.histograms()['probeRtt.direct']?.count ?? 0) >= 3, 15_000);
    const h = a.histograms()['probeRtt.direct'];
    expect(h?.sum).toBeGreaterThan(0);
    expect(h?.cumulative.at(-1)).toBe(h?.count);
    // Every bucket holds at least as many as the one below it.
    h?.cumulative.forEach((c, i) => expect(c).toBeGreaterThanOrEqual(i === 0 ? 0 : (h.cumulative[i - 1] as number)));
    expect(a.histograms()['probeRtt.indirect']?.count).toBe(0);
  });
});
