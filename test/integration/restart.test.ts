/**
 * Agent processes restarted after kill -9: under the same name with seeds, and from their data
 * dir without seeds. Either way they come back alive everywhere, at a higher incarnation, and are
 * not stuck dead.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Agents, incarnationIn, kill9, lists, names, sleep, waitUntil, type AgentProcess } from './support.js';

const agents = new Agents();
const dirs: string[] = [];
afterEach(async () => {
  await agents.killAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
afterAll(() => agents.dispose());

interface SnapshotFile {
  readonly name: string;
  readonly incarnation: number;
  readonly peers: readonly { readonly name: string; readonly host: string; readonly port: number }[];
}

function readSnapshot(dir: string): SnapshotFile | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'peers.json'), 'utf8')) as SnapshotFile;
  } catch {
    return null;
  }
}

/** Polls (bounded) until the data dir holds a snapshot listing every peer in `peers`. */
async function snapshotListing(dir: string, peers: readonly AgentProcess[], timeoutMs: number): Promise<SnapshotFile> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const snap = readSnapshot(dir);
    if (snap !== null && peers.every((p) => snap.peers.some((q) => q.name === p.name && `${q.host}:${q.port}` === p.gossip))) return snap;
    if (Date.now() >= deadline) throw new Error(`no snapshot in ${dir} listing ${names(peers).join(', ')} within ${timeoutMs} ms; last: ${JSON.stringify(snap)}`);
    await sleep(250);
  }
}

describe('agent processes restarted after kill -9', () => {
  for (const port of ['a new port', 'the same port'] as const) {
    it(`an agent restarted under the same name on ${port} is alive everywhere again at a higher incarnation`, { timeout: 90_000 }, async () => {
      const prefix = port === 'a new port' ? 'new' : 'same';
      const a = await agents.start(`${prefix}-a`);
      const [b, c] = await Promise.all([agents.start(`${prefix}-b`, { join: [a.gossip] }), agents.start(`${prefix}-c`, { join: [a.gossip] })]);
      await waitUntil('every agent lists every agent alive', [a, b, c], lists(names([a, b, c]), 'alive'), { timeoutMs: 30_000 });

      await kill9(c);
      const dead = await waitUntil(`a and b list ${c.name} dead`, [a, b], lists([c.name], 'dead'), { timeoutMs: 45_000 });
      const deadAt = Math.max(...[a, b].map((o) => dead.get(o.name)?.get(c.name)?.incarnation ?? 0));

      // The same name, a new process, no data dir: it knows nothing but the seed.
      const c2 = await agents.start(c.name, { join: [b.gossip], bind: port === 'a new port' ? '127.0.0.1:0' : c.gossip });
      if (port === 'the same port') expect(c2.gossip).toBe(c.gossip);
      else expect(c2.gossip).not.toBe(c.gossip);
      await waitUntil(
        `every agent lists ${c.name} alive at ${c2.gossip} with an incarnation above ${deadAt}`,
        [a, b, c2],
        (v) => {
          const row = v.get(c.name);
          return lists(names([a, b, c2]), 'alive')(v) && row !== undefined && row.incarnation > deadAt && `${row.addr}:${row.port}` === c2.gossip;
        },
        { timeoutMs: 30_000 },
      );
    });
  }

  it('an agent restarted from its data dir without seeds rejoins and is alive everywhere', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-it-'));
    dirs.push(dir);
    const a = await agents.start('dd-a');
    const [b, c] = await Promise.all([agents.start('dd-b', { join: [a.gossip] }), agents.start('dd-c', { join: [a.gossip], dataDir: dir })]);
    await waitUntil('every agent lists every agent alive', [a, b, c], lists(names([a, b, c]), 'alive'), { timeoutMs: 30_000 });
    // The agent snapshots its peers every few seconds; wait for one that lists both.
    await snapshotListing(dir, [a, b], 20_000);
    const before = await incarnationIn(c, c.name);

    await kill9(c);
    const c2 = await agents.start('dd-c', { dataDir: dir }); // no --join
    await waitUntil(
      `every agent lists dd-c alive at ${c2.gossip} with an incarnation above ${before}`,
      [a, b, c2],
      (v) => {
        const row = v.get('dd-c');
        return lists(names([a, b, c2]), 'alive')(v) && row !== undefined && row.incarnation > before && `${row.addr}:${row.port}` === c2.gossip;
      },
      { timeoutMs: 30_000 },
    );
    expect(c2.gossip).not.toBe(c.gossip);
  });
});
