/**
 * Issue 16: another node's checks, each with its status and last output, reach every agent through
 * the state layer (`c:<id>` entries): a status change with the next publication, an output alone
 * only once checkOutputIntervalMs has passed. Two real agents on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Agents, hostPort, waitFor } from './support.js';

const agents = new Agents();
afterEach(() => agents.closeAll());

const remote = (b: { nodeChecks(n: string): readonly { id: string; status: string; output: string }[] }, node: string): string[] =>
  b.nodeChecks(node).map((c) => `${c.id} ${c.status} ${c.output}`).sort();

describe("another node's checks", () => {
  it('reach another agent with their status and output; a status change spreads at once, an output alone waits for the interval', async () => {
    const a = await agents.started('rc-a', { serviceUpdateIntervalMs: 50, checkOutputIntervalMs: 3_600_000 });
    const b = await agents.started('rc-b', { serviceUpdateIntervalMs: 50 });
    a.register({ id: 'web-1', name: 'web', port: 8080, checks: [{ ttl: '1h', status: 'passing' }] });
    a.register({ id: 'db-1', name: 'db', port: 5432, checks: [{ ttl: '1h', status: 'passing' }] });
    a.register({ id: 'plain-1', name: 'plain', port: 1 });
    await b.join([hostPort(a)]);
    await waitFor('b holds both instances checks', () => b.nodeChecks('rc-a').length === 2, 10_000);
    expect(remote(b, 'rc-a')).toEqual(['service:db-1 passing ', 'service:web-1 passing ']);
    expect(b.nodeChecks('rc-a').find((c) => c.serviceId === 'web-1')).toMatchObject({ kind: 'ttl' });

    // A status change, with what the check said.
    a.updateCheck('service:web-1', 'critical', 'disk full');
    await waitFor('the critical reaches b', () => remote(b, 'rc-a').includes('service:web-1 critical disk full'), 10_000);

    // The same status with a new output is held back by the hour-long interval: a later status
    // change of another instance (a later version of a's state, so applied after it) arrives while
    // the first output is still the old one.
    a.updateCheck('service:web-1', 'critical', 'disk fuller');
    a.updateCheck('service:db-1', 'warning', 'slow');
    await waitFor('the warning reaches b', () => remote(b, 'rc-a').includes('service:db-1 warning slow'), 10_000);
    expect(remote(b, 'rc-a')).toContain('service:web-1 critical disk full');
    expect(a.nodeChecks('rc-a').find((c) => c.id === 'service:web-1')?.output).toBe('disk fuller');

    // Deregistering removes the instance's checks from b as well.
    a.deregister('web-1');
    await waitFor('the checks of web-1 leave b', () => remote(b, 'rc-a').length === 1, 10_000);
    expect(remote(b, 'rc-a')).toEqual(['service:db-1 warning slow']);
  });

  it('publishes an output alone once the interval has passed', async () => {
    const a = await agents.started('ro-a', { serviceUpdateIntervalMs: 50, checkOutputIntervalMs: 300 });
    const b = await agents.started('ro-b', { serviceUpdateIntervalMs: 50 });
    a.register({ id: 'q-1', name: 'queue', port: 1, checks: [{ ttl: '1h', status: 'passing' }] });
    await b.join([hostPort(a)]);
    await waitFor('b holds the check', () => b.nodeChecks('ro-a').length === 1, 10_000);
    a.updateCheck('service:q-1', 'passing', 'depth 3');
    await waitFor('the new output reaches b after the interval', () => remote(b, 'ro-a').includes('service:q-1 passing depth 3'), 10_000);
  });
});
