import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/types.js';
import { Agents, allSee, incarnationOf, views, waitFor } from './support.js';

const agents = new Agents();
const dirs: string[] = [];
afterEach(async () => {
  await agents.closeAll();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'hearsay-restart-'));
  dirs.push(d);
  return d;
}

/** a and b, and `name` started with `options`, all joined and alive everywhere. */
async function cluster(name: string, options: Parameters<Agents['started']>[1] = {}): Promise<[Agent, Agent, Agent]> {
  const a = await agents.started(`${name}-a`);
  const b = await agents.started(`${name}-b`);
  const c = await agents.started(name, options);
  await b.join([a.address]);
  await c.join([a.address]);
  const names = [a.name, b.name, c.name];
  await waitFor('all alive', () => allSee([a, b, c], names, 'alive'), 20_000, 50, () => views([a, b, c]));
  return [a, b, c];
}

describe('an agent restarted under the same name', () => {
  it('without a data dir comes back alive everywhere by refuting its death with a higher incarnation', async () => {
    const [a, b, c] = await cluster('plain');
    const old = c.incarnation;
    await c.close();
    await waitFor('a and b list it dead', () => allSee([a, b], ['plain'], 'dead'), 30_000, 100, () => views([a, b]));

    const again = await agents.started('plain');
    expect(again.incarnation).toBe(0);
    expect(again.address.port).not.toBe(0);
    expect(await again.join([a.address])).toBe(1);
    await waitFor(
      'everyone lists it alive above its old incarnation',
      () => allSee([a, b, again], ['plain'], 'alive') && [a, b].every((x) => (incarnationOf(x, 'plain') ?? -1) > old),
      20_000,
      50,
      () => views([a, b, again]),
    );
    expect(again.incarnation).toBeGreaterThan(old);
    expect(again.counters()['refutations']).toBeGreaterThanOrEqual(1);
    await waitFor('it lists a and b alive', () => allSee([again], [a.name, b.name], 'alive'), 10_000);
  });

  it('from its data dir starts one incarnation higher and rejoins through the snapshot without seeds', async () => {
    const dir = await tempDir();
    const [a, b, c] = await cluster('kept', { dataDir: dir });
    const old = c.incarnation;
    await c.close();
    await waitFor('a and b list it dead', () => allSee([a, b], ['kept'], 'dead'), 30_000, 100, () => views([a, b]));

    // No name given: it is taken from the snapshot, and so is the incarnation.
    const restarted = await startUnnamed(dir);
    expect(restarted.name).toBe('kept');
    expect(restarted.incarnation).toBe(old + 1);
    await waitFor(
      'everyone lists it alive at the higher incarnation, without a join() call',
      () => allSee([a, b, restarted], ['kept'], 'alive') && [a, b].every((x) => (incarnationOf(x, 'kept') ?? -1) > old),
      20_000,
      50,
      () => views([a, b, restarted]),
    );
    // (No assertion on refutations: on a loaded machine a fast 'local' probe may time out and make
    // the restarted node refute a false suspicion, which is correct behaviour.)
  });

  it('rejoins through the snapshot on rejoin() when auto-rejoin is off', async () => {
    const dir = await tempDir();
    const [a, b, c] = await cluster('manual', { dataDir: dir });
    await c.close();
    const again = await agents.started('manual', { dataDir: dir, autoRejoin: false });
    expect(await again.rejoin({ attempts: 1 })).toBe(2);
    await waitFor('it lists a and b alive', () => allSee([again], [a.name, b.name], 'alive'), 10_000, 50, () => views([again]));
  });

  it('resolves rejoin() with 0 when there is no snapshot', async () => {
    const dir = await tempDir();
    const lone = await agents.started('lone', { dataDir: dir });
    expect(await lone.rejoin()).toBe(0);
  });
});

async function startUnnamed(dir: string): Promise<Agent> {
  const { createAgent } = await import('../../src/agent/agent.js');
  const a = createAgent({ bind: { host: '127.0.0.1', port: 0 }, profile: 'local', dataDir: dir, autoRejoinDelayMs: 50 });
  agents.adopt(a);
  await a.start();
  return a;
}
