/**
 * The service registry through real agents on 127.0.0.1: registrations spread in the node's
 * state, checks run for real (TTL, HTTP, TCP, command), statuses spread, and instances vanish
 * with their node.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { InvalidServiceError, ServiceLimitError } from '../../src/errors.js';
import type { ServiceWatchUpdate } from '../../src/registry/types.js';
import { Agents, allSee, hostPort, processGone, waitFor } from './support.js';

const agents = new Agents();
const servers: (Server | TcpServer)[] = [];
afterEach(async () => {
  await agents.closeAll();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

async function pair(): Promise<[Awaited<ReturnType<Agents['started']>>, Awaited<ReturnType<Agents['started']>>]> {
  const a = await agents.started('svc-a', { serviceUpdateIntervalMs: 100 });
  const b = await agents.started('svc-b', { serviceUpdateIntervalMs: 100 });
  await b.join([hostPort(a)]);
  await waitFor('both alive', () => allSee([a, b], ['svc-a', 'svc-b'], 'alive'), 10_000);
  return [a, b];
}

function listen(status: () => number): Promise<number> {
  const server = createServer((_req, res) => {
    res.statusCode = status();
    res.end('ok');
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

describe('service registry across agents', () => {
  it('a registration on one agent is looked up on another; deregistration removes it', async () => {
    const [a, b] = await pair();
    const inst = a.register({ name: 'billing', port: 8080, tags: ['v2'], meta: { version: '2.1.0' } });
    expect(inst).toMatchObject({ name: 'billing', node: 'svc-a', address: '127.0.0.1', port: 8080, status: 'passing' });
    expect(a.lookup('billing').map((i) => i.id)).toEqual([inst.id]);
    await waitFor('b sees billing', () => b.lookup('billing').length === 1, 10_000);
    expect(b.lookup('billing')[0]).toEqual(inst);
    expect(b.lookup('billing', { tags: ['v2'] })).toHaveLength(1);
    expect(b.lookup('billing', { tags: ['v1'] })).toHaveLength(0);
    expect(b.services()).toEqual([{ name: 'billing', instances: 1, passing: 1 }]);
    expect(b.pick('billing')?.id).toBe(inst.id);

    expect(a.deregister(inst.id)).toBe(true);
    expect(a.deregister(inst.id)).toBe(false);
    await waitFor('b no longer sees billing', () => b.lookup('billing').length === 0, 10_000);
  });

  it('a TTL check starts critical, passes through updateCheck, and expires back to critical', async () => {
    const [a, b] = await pair();
    const inst = a.register({ name: 'worker', port: 9000, checks: [{ ttl: '400ms' }] });
    expect(inst.status).toBe('critical');
    expect(a.lookup('worker')).toHaveLength(0);
    expect(a.lookup('worker', { status: 'critical' })).toHaveLength(1);
    a.updateCheck(`service:${inst.id}`, 'passing', 'all good');
    expect(a.lookup('worker')).toHaveLength(1);
    await waitFor('b sees worker passing', () => b.lookup('worker').length === 1, 10_000);
    await waitFor('the ttl expires on b', () => b.lookup('worker', { status: 'critical' }).length === 1, 10_000);
    expect(a.checks()).toEqual([expect.objectContaining({ id: `service:${inst.id}`, status: 'critical', output: expect.stringContaining('TTL expired') })]);
    expect(() => a.updateCheck('nope', 'passing')).toThrow(/no check with id "nope"/);
  });

  it('runs http checks: 2xx passing, 429 warning, 500 critical', async () => {
    const [a, b] = await pair();
    let status = 200;
    const port = await listen(() => status);
    a.register({ id: 'web-1', name: 'web', port, checks: [{ http: `http://127.0.0.1:${port}/health`, interval: '100ms', timeout: '1s' }] });
    await waitFor('b sees web passing', () => b.lookup('web').length === 1, 10_000);
    status = 429;
    await waitFor('b sees web warning', () => b.lookup('web', { status: 'warning' }).length === 1, 10_000);
    status = 500;
    await waitFor('b sees web critical', () => b.lookup('web', { status: 'critical' }).length === 1, 10_000);
    expect(a.checks()[0]?.output).toContain('500');
  });

  it('runs tcp and command checks', async () => {
    const [a] = await pair();
    const tcp = createTcpServer((s) => s.end());
    servers.push(tcp);
    const port = await new Promise<number>((r) => tcp.listen(0, '127.0.0.1', () => r((tcp.address() as AddressInfo).port)));
    a.register({ id: 'db-1', name: 'db', port, checks: [{ tcp: `127.0.0.1:${port}`, interval: '100ms' }] });
    a.register({ id: 'ok-1', name: 'cmd-ok', port: 1, checks: [{ command: ['node', '-e', 'process.exit(0)'], interval: '200ms' }] });
    a.register({ id: 'warn-1', name: 'cmd-warn', port: 1, checks: [{ command: 'exit 1', interval: '200ms' }] });
    a.register({ id: 'crit-1', name: 'cmd-crit', port: 1, checks: [{ command: 'exit 3', interval: '200ms', status: 'passing' }] });
    a.register({ id: 'slow-1', name: 'cmd-slow', port: 1, checks: [{ command: 'sleep 5', interval: '200ms', timeout: '100ms', status: 'passing' }] });
    await waitFor('tcp passing', () => a.lookup('db').length === 1, 10_000);
    await waitFor('exit 0 passing', () => a.lookup('cmd-ok').length === 1, 10_000);
    await waitFor('exit 1 warning', () => a.lookup('cmd-warn', { status: 'warning' }).length === 1, 10_000);
    await waitFor('exit 3 critical', () => a.lookup('cmd-crit', { status: 'critical' }).length === 1, 10_000);
    await waitFor('a timeout is critical', () => a.lookup('cmd-slow', { status: 'critical' }).length === 1, 10_000);
    expect(a.checks().find((c) => c.serviceId === 'slow-1')?.output).toMatch(/killed after 100 ms/);
    await new Promise<void>((r) => tcp.close(() => r()));
    servers.splice(servers.indexOf(tcp), 1);
    await waitFor('tcp critical once the port closes', () => a.lookup('db', { status: 'critical' }).length === 1, 10_000);
  });

  it('a command that exits 0 leaving a background child is passing, and the child is killed', async () => {
    const [a] = await pair();
    const pidFile = join(mkdtempSync(join(tmpdir(), 'hearsay-bg-')), 'pid');
    a.register({ id: 'bg', name: 'bg', port: 1, checks: [{ command: `sleep 31 & echo $! > ${pidFile}; exit 0`, interval: '1m', timeout: '5s' }] });
    await waitFor('the check passes', () => a.lookup('bg').length === 1, 10_000);
    // The pid file shows the background child was started; it must not outlive the check.
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(pid).toBeGreaterThan(0);
    await waitFor('the background child is gone', () => processGone(pid), 10_000);
  });

  it('a throwing change listener does not break registration, watches or checks', async () => {
    const [a] = await pair();
    a.onServiceChange('boom', () => {
      throw new Error('listener boom');
    });
    const seen: number[] = [];
    a.onServiceChange('boom', (u) => seen.push(u.instances.length));
    expect(() => a.register({ id: 'b1', name: 'boom', port: 1 })).not.toThrow();
    expect(a.lookup('boom')).toHaveLength(1);
    expect(seen).toEqual([0, 1]);
  });

  it('deregisters an instance critical for longer than deregisterCriticalAfter', async () => {
    const [a, b] = await pair();
    a.register({ id: 'doomed', name: 'doomed', port: 1, checks: [{ ttl: '10s', deregisterCriticalAfter: '300ms' }] });
    await waitFor('b sees it (critical)', () => b.lookup('doomed', { status: 'any' }).length === 1, 10_000);
    await waitFor('a deregisters it', () => a.localServices().length === 0, 10_000);
    await waitFor('b no longer sees it', () => b.lookup('doomed', { status: 'any' }).length === 0, 10_000);
    expect(a.counters()['services.deregisteredCritical']).toBe(1);
  });

  it('maintenance per service and per node takes instances out of lookups', async () => {
    const [a, b] = await pair();
    a.register({ id: 'm1', name: 'maint', port: 1 });
    a.register({ id: 'm2', name: 'maint', port: 2 });
    await waitFor('b sees both', () => b.lookup('maint').length === 2, 10_000);
    a.setMaintenance(true, { serviceId: 'm1', reason: 'upgrade' });
    await waitFor('b sees one', () => b.lookup('maint').length === 1, 10_000);
    expect(b.lookup('maint', { status: 'maintenance' }).map((i) => i.id)).toEqual(['m1']);
    a.setMaintenance(true);
    await waitFor('b sees none', () => b.lookup('maint').length === 0, 10_000);
    a.setMaintenance(false);
    a.setMaintenance(false, { serviceId: 'm1' });
    await waitFor('b sees both again', () => b.lookup('maint').length === 2, 10_000);
  });

  it('instances on a node that leaves or dies disappear from lookups', async () => {
    const [a, b] = await pair();
    const c = await agents.started('svc-c');
    await c.join([hostPort(a)]);
    b.register({ id: 'on-b', name: 'shared', port: 1 });
    c.register({ id: 'on-c', name: 'shared', port: 2 });
    await waitFor('a sees both', () => a.lookup('shared').length === 2, 10_000);
    await b.leave({ timeoutMs: 2000 });
    await waitFor('a sees only c', () => a.lookup('shared').map((i) => i.id).join() === 'on-c', 10_000);
    await c.close();
    await waitFor('a sees none', () => a.lookup('shared').length === 0, 30_000);
  });

  it('watch yields a snapshot then changes, and ends on abort', async () => {
    const [a, b] = await pair();
    const ac = new AbortController();
    const seen: ServiceWatchUpdate[] = [];
    const events: ServiceWatchUpdate[] = [];
    const stop = b.onServiceChange('api', (u) => events.push(u));
    const done = (async () => {
      for await (const u of b.watch('api', { signal: ac.signal })) {
        seen.push(u);
        if (u.instances.length === 2) ac.abort();
      }
    })();
    a.register({ id: 'api-1', name: 'api', port: 1 });
    a.register({ id: 'api-2', name: 'api', port: 2 });
    await done;
    stop();
    expect(seen[0]).toMatchObject({ snapshot: true, instances: [] });
    expect(seen.at(-1)?.instances.map((i) => i.id).sort()).toEqual(['api-1', 'api-2']);
    expect(seen.flatMap((u) => u.added.map((i) => i.id)).sort()).toEqual(['api-1', 'api-2']);
    expect(events[0]?.snapshot).toBe(true);
    expect(events.flatMap((u) => u.added.map((i) => i.id)).sort()).toEqual(['api-1', 'api-2']);
  });

  it('a watch answers two next() calls made at once, and registering again keeps a passing check passing', async () => {
    const [a] = await pair();
    const it = a.watch('twice');
    const first = await it.next();
    expect(first.value?.snapshot).toBe(true);
    const p1 = it.next();
    const p2 = it.next();
    a.register({ id: 't1', name: 'twice', port: 1, checks: [{ id: 't1-ttl', ttl: '1m' }] });
    a.updateCheck('t1-ttl', 'passing');
    const r1 = await p1;
    a.register({ id: 't2', name: 'twice', port: 2 });
    const r2 = await p2;
    expect(r1.done).toBe(false);
    expect(r2.done).toBe(false);
    await it.return?.();
    // The same definition again: the instance stays passing (its check's state is kept).
    a.register({ id: 't1', name: 'twice', port: 1, checks: [{ id: 't1-ttl', ttl: '1m' }] });
    expect(a.lookup('twice').map((i) => i.id).sort()).toEqual(['t1', 't2']);
    // A changed check starts over, critical.
    a.register({ id: 't1', name: 'twice', port: 1, checks: [{ id: 't1-ttl', ttl: '2m' }] });
    expect(a.lookup('twice').map((i) => i.id)).toEqual(['t2']);
  });

  it('refuses a bad registration with every problem, and one over maxInstanceBytes; what once did not fit a datagram registers and spreads', async () => {
    const [a, b] = await pair();
    let refused: unknown;
    try {
      a.register({ name: 'Bad Name', port: 0 });
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(InvalidServiceError);
    expect((refused as InvalidServiceError).problems).toHaveLength(2);
    const meta: Record<string, string> = {};
    for (let i = 0; i < 10; i++) meta[`key${i}`] = 'x'.repeat(500);
    let caught: unknown;
    try {
      a.register({ id: 'big', name: 'big', port: 1, meta });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ServiceLimitError);
    expect((caught as ServiceLimitError).limit).toBe('maxInstanceBytes');
    expect((caught as ServiceLimitError).message).toMatch(/instance "big" takes \d+ bytes: \d+ is over the limit maxInstanceBytes = 4096; trim its tags and meta/);
    expect(a.localServices()).toHaveLength(0);
    // 2,000 bytes of meta: over the one-datagram wall of protocol 1, one state entry now.
    const wide: Record<string, string> = {};
    for (let i = 0; i < 20; i++) wide[`key${i}`] = 'x'.repeat(100);
    a.register({ id: 'wide', name: 'wide', port: 1, meta: wide });
    await waitFor('b sees the wide instance', () => b.lookup('wide').length === 1, 10_000);
    expect(b.lookup('wide')[0]?.meta).toEqual(wide);
  });

  it('registrations share the publish rate limit: a burst makes one publication now and one at the end of the interval', async () => {
    const a = await agents.started('burst-pub', { serviceUpdateIntervalMs: 60_000 });
    const before = a.counters()['services.publishes']!;
    const incarnation = a.incarnation;
    for (let i = 0; i < 10; i++) a.register({ id: `r${i}`, name: 'burst', port: 1 + i });
    for (let i = 0; i < 5; i++) a.deregister(`r${i}`);
    expect(a.lookup('burst')).toHaveLength(5); // local lookups see every change at once
    expect(a.counters()['services.publishes']! - before).toBe(1);
    // Published in the state layer: no new incarnation.
    expect(a.incarnation).toBe(incarnation);
    expect(a.counters()['services.publishesCoalesced']).toBeGreaterThan(0);
  });

  it('a flapping check is coalesced into few state publications', async () => {
    const a = await agents.started('flap', { serviceUpdateIntervalMs: 60_000 });
    a.register({ id: 'f', name: 'flappy', port: 1, checks: [{ ttl: '1m', status: 'passing' }] });
    const before = a.counters()['services.publishes']!;
    for (let i = 0; i < 50; i++) a.updateCheck('service:f', i % 2 === 0 ? 'critical' : 'passing');
    // Every change shows locally at once, but at most one publication goes out per interval.
    expect(a.lookup('flappy')).toHaveLength(1);
    expect(a.counters()['services.publishes']! - before).toBeLessThanOrEqual(1);
    expect(a.counters()['services.publishesCoalesced']).toBeGreaterThan(0);
  });

  it('with a data dir, persisted registrations survive a restart; non-persisted ones and deregistered ones do not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-svc-dir-'));
    const first = await agents.started('keeper', { dataDir: dir });
    first.register({ id: 'kept', name: 'kept', port: 1, tags: ['x'], checks: [{ ttl: '1m' }] }, { persist: true });
    first.register({ id: 'gone', name: 'gone', port: 2 }, { persist: true });
    first.register({ id: 'ephemeral', name: 'eph', port: 3 }); // persist defaults to false
    first.deregister('gone');
    await waitFor('services.json written', () => {
      try {
        const doc = JSON.parse(readFileSync(join(dir, 'services.json'), 'utf8')) as { services: { id: string }[] };
        return doc.services.map((d) => d.id).join() === 'kept';
      } catch {
        return false;
      }
    }, 5000);
    await first.close();
    const second = await agents.started('keeper', { dataDir: dir });
    expect(second.localServices().map((s) => s.record.id)).toEqual(['kept']);
    expect(second.localServices()[0]?.record).toMatchObject({ name: 'kept', tags: ['x'], status: 'critical' });
    expect(second.checks().map((c) => c.id)).toEqual(['service:kept']);
  });

  it('saves the latest list even when registrations come in a burst and the agent closes at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-svc-dir-'));
    const a = await agents.started('burst', { dataDir: dir });
    for (let i = 0; i < 12; i++) a.register({ id: `b${i}`, name: 'burst', port: 1000 + i }, { persist: true });
    await a.close();
    const doc = JSON.parse(readFileSync(join(dir, 'services.json'), 'utf8')) as { services: { id: string }[] };
    expect(doc.services.map((d) => d.id)).toEqual(Array.from({ length: 12 }, (_, i) => `b${i}`));
    for (let round = 0; round < 3; round++) {
      const again = await agents.started('burst', { dataDir: dir });
      expect(again.localServices()).toHaveLength(12);
      await again.close();
    }
  });

  it('drops a saved definition that no longer validates, keeping the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-svc-dir-'));
    writeFileSync(join(dir, 'services.json'), '{"version": 1, "services": [{"name": "Bad Name", "port": 0}, {"id": "ok", "name": "ok", "port": 5}]}');
    const a = await agents.started('restorer', { dataDir: dir });
    expect(a.localServices().map((s) => s.record.id)).toEqual(['ok']);
  });
});

describe('what the agent logs about checks', () => {
  it('logs a check turning critical at warn, with what the check said', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    const a = await agents.started('logs-checks', { logger });
    a.register({ name: 'svc', port: 1, checks: [{ ttl: '30s', id: 'svc-ttl' }] });
    a.updateCheck('svc-ttl', 'passing', 'fine');
    a.updateCheck('svc-ttl', 'critical', 'disk full');
    const critical = lines.filter((l) => l.msg === 'check critical');
    expect(critical).toEqual([expect.objectContaining({ level: 40, check: 'svc-ttl', from: 'passing', status: 'critical', output: 'disk full' })]);
    expect(lines.some((l) => l.msg === 'check status changed' && l.status === 'passing' && l.level === 30)).toBe(true);
  });
});
