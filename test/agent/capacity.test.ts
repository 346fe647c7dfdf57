/**
 * Issue 13, capacity: a node carries up to maxInstancesPerNode instances (1,000 by default, each
 * one entry of its state), registering the 1,000th publishes one entry like the first, a flip
 * publishes one entry, each refusal names its limit, and 1,000 instances on one agent reach
 * another over the state layer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ServiceRuntime, type ServiceLimits } from '../../src/agent/services.js';
import { createAgent } from '../../src/agent/agent.js';
import type { EntryChange } from '../../src/registry/entries.js';
import { InvalidOptionsError, ServiceLimitError } from '../../src/errors.js';
import { SeededRandom } from '../../src/util/random.js';
import { Agents, hostPort, waitFor } from './support.js';

function runtime(limits?: ServiceLimits): { rt: ServiceRuntime; published: (readonly EntryChange[])[] } {
  const published: (readonly EntryChange[])[] = [];
  let t = 0;
  const rt = new ServiceRuntime(
    {
      nodeName: 'host-1',
      advertiseHost: () => '10.0.0.1',
      checkEntries: () => {},
      publish: (changes) => published.push(changes),
      freshId: () => 'x',
      // Every change a publish interval after the last: each goes out at once.
      now: () => (t += 10),
      random: new SeededRandom(1),
      emit: () => {},
      log: pino({ level: 'silent' }),
    },
    1,
    limits,
  );
  return { rt, published };
}

const agents = new Agents();
afterEach(() => agents.closeAll());

describe('capacity of one node', () => {
  it('registers 1,000 instances, each publication one entry (the 1,000th as the first), and refuses the 1,001st naming maxInstancesPerNode', () => {
    const { rt, published } = runtime();
    for (let i = 0; i < 1000; i++) rt.register({ id: `i-${i}`, name: `svc-${i % 10}`, port: 1 + i, tags: ['a', 'b'], meta: { zone: 'z1' } });
    expect(published).toHaveLength(1000);
    expect(published.every((p) => p.length === 1)).toBe(true);
    expect(published[999]).toEqual([{ key: 'i:i-999', value: expect.any(Uint8Array) }]);
    let caught: unknown;
    try {
      rt.register({ id: 'one-more', name: 'svc-0', port: 1 });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ServiceLimitError);
    expect((caught as ServiceLimitError).code).toBe('HEARSAY_ERR_SERVICE_LIMIT');
    expect((caught as ServiceLimitError).message).toMatch(/1001 is over the limit maxInstancesPerNode = 1000; deregister instances on this node, or raise maxInstancesPerNode/);
    // Replacing one at the limit is allowed; a flip is one entry too: the instance's two-byte status entry.
    rt.register({ id: 'i-5', name: 'svc-5', port: 999 });
    expect(published.at(-1)).toHaveLength(1);
    rt.setMaintenance(true, 'i-7');
    expect(published.at(-1)).toEqual([{ key: 's:i-7', value: Uint8Array.of(0x73, 3) }]);
    rt.deregister('i-8');
    expect(published.at(-1)).toEqual([{ key: 'i:i-8', value: null }]);
    rt.close();
  });

  it('takes its limits from the options: maxInstancesPerNode and maxInstanceBytes', () => {
    const { rt } = runtime({ maxInstancesPerNode: 3, maxInstanceBytes: 100 });
    for (let i = 0; i < 3; i++) rt.register({ id: `i${i}`, name: 'web', port: 1 });
    expect(() => rt.register({ id: 'i3', name: 'web', port: 1 })).toThrow(/4 is over the limit maxInstancesPerNode = 3/);
    expect(() => rt.register({ id: 'i0', name: 'web', port: 1, meta: { note: 'x'.repeat(100) } })).toThrow(/instance "i0" takes \d+ bytes: \d+ is over the limit maxInstanceBytes = 100/);
    expect(rt.localServices().map((s) => s.record.port)).toEqual([1, 1, 1]);
    rt.close();
  });

  it('refuses limits outside their ranges when the agent is created', () => {
    expect(() => createAgent({ name: 'x', maxInstancesPerNode: 5000 })).toThrow(InvalidOptionsError);
    expect(() => createAgent({ name: 'x', maxInstancesPerNode: 0 })).toThrow(/maxInstancesPerNode must be an integer from 1 to 2048/);
    expect(() => createAgent({ name: 'x', maxInstanceBytes: 20_000 })).toThrow(/maxInstanceBytes must be an integer from 64 to 16384/);
  });

  it('1,000 instances on one agent are all looked up on another, and a flip reaches it', async () => {
    const a = await agents.started('cap-a', { serviceUpdateIntervalMs: 100 });
    const b = await agents.started('cap-b', { serviceUpdateIntervalMs: 100 });
    for (let i = 0; i < 1000; i++) a.register({ id: `i-${i}`, name: `svc-${i % 20}`, port: 1000 + i, tags: ['v1'], meta: { rack: `r${i % 7}` } });
    await b.join([hostPort(a)]);
    await waitFor('b sees all 1,000', () => b.services().reduce((n, s) => n + s.instances, 0) === 1000, 20_000);
    expect(b.lookup('svc-3').map((i) => i.id).sort()).toEqual(a.lookup('svc-3').map((i) => i.id).sort());
    a.setMaintenance(true, { serviceId: 'i-3' });
    await waitFor('the flip reaches b', () => b.lookup('svc-3', { status: 'maintenance' }).length === 1, 10_000);
    expect(b.lookup('svc-3')).toHaveLength(49);
  });
});
