import { afterEach, describe, expect, it } from 'vitest';
import { AgentClosedError, JoinError, NotStartedError } from '../../src/errors.js';
import { closedPort, hasIPv6Loopback } from '../transport/support.js';
import { Agents, allSee, waitFor } from './support.js';

const agents = new Agents();
afterEach(() => agents.closeAll());
const hasV6 = await hasIPv6Loopback();

describe('join', () => {
  it('rejects with a JoinError that lists each seed and its failure when no seed answers', async () => {
    const a = await agents.started('lonely');
    const p1 = await closedPort();
    const p2 = await closedPort();
    let caught: unknown;
    try {
      await a.join([`127.0.0.1:${p1}`, { host: '127.0.0.1', port: p2 }], { attempts: 2, backoffMs: 20 });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(JoinError);
    const e = caught as JoinError;
    expect(e.code).toBe('HEARSAY_ERR_JOIN_FAILED');
    expect(e.failures).toEqual([
      expect.objectContaining({ seed: `127.0.0.1:${p1}`, errno: 'ECONNREFUSED', attempts: 2 }),
      expect.objectContaining({ seed: `127.0.0.1:${p2}`, errno: 'ECONNREFUSED', attempts: 2 }),
    ]);
    expect(e.message).toContain(`127.0.0.1:${p1}: connection refused`);
    expect(e.message).toContain('check that an agent runs at each seed address');
  });

  it('resolves with the number of seeds that answered when some fail', async () => {
    const a = await agents.started('seed-a');
    const b = await agents.started('seed-b');
    const c = await agents.started('joiner-c');
    const dead = await closedPort();
    const n = await c.join([a.address, `127.0.0.1:${dead}`, `127.0.0.1:${b.address.port}`], { attempts: 1 });
    expect(n).toBe(2);
  });

  it('times out a seed that accepts but never answers and says so', async () => {
    const { createServer } = await import('node:net');
    const mute = createServer(() => {});
    await new Promise<void>((r) => mute.listen({ host: '127.0.0.1', port: 0 }, () => r()));
    const addr = mute.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    try {
      const a = await agents.started('impatient', { tcpReadTimeoutMs: 200 });
      const err = await a.join([`127.0.0.1:${port}`], { attempts: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JoinError);
      expect((err as JoinError).failures[0]?.reason).toContain('no complete answer within 200 ms');
    } finally {
      mute.close();
    }
  });

  it('rejects before start and after close with errors that say what to do', async () => {
    const a = agents.make('early');
    await expect(a.join(['127.0.0.1:1'])).rejects.toBeInstanceOf(NotStartedError);
    await a.start();
    await a.close();
    await a.close(); // idempotent
    await expect(a.join(['127.0.0.1:1'])).rejects.toBeInstanceOf(AgentClosedError);
    await expect(a.join(['127.0.0.1:1'])).rejects.toThrow(/createAgent/);
  });

  it('rejects a malformed seed address with InvalidAddressError', async () => {
    const a = await agents.started('picky');
    await expect(a.join(['::1:7946'])).rejects.toMatchObject({ code: 'HEARSAY_ERR_INVALID_ADDRESS' });
  });

  it.skipIf(!hasV6)('joins agents bound to [::1] through an IPv6 HOST:PORT seed (skipped without IPv6 loopback)', async () => {
    const v6 = { bind: { host: '::1', port: 0 } };
    const a = await agents.started('v6-a', v6);
    const b = await agents.started('v6-b', v6);
    expect(a.address.host).toBe('::1');
    expect(await b.join([`[::1]:${a.address.port}`])).toBe(1);
    await waitFor('both alive in both views', () => allSee([a, b], ['v6-a', 'v6-b'], 'alive'), 10_000);
  });
});
