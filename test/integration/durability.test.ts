/**
 * Nothing acknowledged is lost: a real `hearsay agent --data-dir` process takes a burst of
 * registrations and deregistrations over its HTTP API and is killed with SIGKILL at a random moment;
 * restarted on the same data dir, it has every registration it answered 2xx for and none it
 * answered 2xx to deregister. And on a full disk (a tiny tmpfs), nothing is acknowledged that is not
 * on disk: the API answers 500 HEARSAY_ERR_PERSIST and the change is not made.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Agents, kill9, sleep, type AgentProcess } from './support.js';

const agents = new Agents();
afterEach(() => agents.killAll());
afterAll(() => agents.dispose());

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

async function api(agent: AgentProcess, method: string, path: string, body?: unknown): Promise<Answer | null> {
  try {
    const res = await fetch(`http://${agent.http}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(5000),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } catch {
    return null; // the process died before it answered: not acknowledged
  }
}

async function localIds(agent: AgentProcess): Promise<Set<string>> {
  const list = (await agent.get('/v1/registrations')) as { id: string }[];
  return new Set(list.map((s) => s.id));
}

/** A seeded generator, so a failing round can be replayed from its printed seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 2 ** 32;
  };
}

describe('durability of acknowledged writes', () => {
  it('keeps every acknowledged registration and no acknowledged deregistration across kill -9 at random moments', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-durable-'));
    const seed = Number(process.env.HEARSAY_SEED ?? Date.now() % 1_000_000);
    const random = rng(seed);
    try {
      const registered = new Set<string>(); // acknowledged and not (acknowledged) deregistered since
      const deregistered = new Set<string>();
      for (let round = 0; round < 4; round++) {
        const agent = await agents.start(`durable-${round}`, { dataDir: dir, dns: 'off' });
        // What survived the last kill: every acknowledged registration, no acknowledged deregistration.
        const ids = await localIds(agent);
        for (const id of registered) expect(ids.has(id), `round ${round} (seed ${seed}): registration ${id} was acknowledged before the kill`).toBe(true);
        for (const id of deregistered) expect(ids.has(id), `round ${round} (seed ${seed}): deregistration of ${id} was acknowledged before the kill`).toBe(false);
        // Later rounds may resurrect only what was never acknowledged either way; start from what is there.
        for (const id of ids) if (!registered.has(id)) registered.add(id);
        const burst: Promise<void>[] = [];
        const killAt = 20 + Math.floor(random() * 200);
        const started = Date.now();
        for (let k = 0; k < 60; k++) {
          const id = `r${round}-i${k}`;
          burst.push(
            (async () => {
              await sleep(Math.floor(random() * 250));
              const reg = await api(agent, 'PUT', '/v1/services', { id, name: 'burst', port: 1000 + k });
              if (reg?.status === 200) {
                registered.add(id);
                deregistered.delete(id);
              }
              if (random() < 0.3) {
                const victim = [...registered][Math.floor(random() * registered.size)];
                if (victim === undefined) return;
                const del = await api(agent, 'DELETE', `/v1/services/${victim}`);
                if (del?.status === 200) {
                  registered.delete(victim);
                  deregistered.add(victim);
                } else if (del === null) {
                  // No answer (killed meanwhile): the deregistration may or may not be on disk, so
                  // either outcome is right; only acknowledged changes are promised.
                  registered.delete(victim);
                }
              }
            })(),
          );
        }
        await sleep(Math.max(0, killAt - (Date.now() - started)));
        await kill9(agent);
        await Promise.all(burst);
      }
      const last = await agents.start('durable-last', { dataDir: dir, dns: 'off' });
      const ids = await localIds(last);
      for (const id of registered) expect(ids.has(id), `(seed ${seed}) ${id}`).toBe(true);
      for (const id of deregistered) expect(ids.has(id), `(seed ${seed}) ${id}`).toBe(false);
    } finally {
      await agents.killAll(); // a running agent still writes in the data dir
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A tmpfs this test mounts (root only); null where that is not possible. */
function tinyFilesystem(kib: number): { path: string; unmount(): void } | null {
  const path = mkdtempSync(join(tmpdir(), 'hearsay-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', path], { stdio: 'ignore' });
  } catch {
    rmSync(path, { recursive: true, force: true });
    return null;
  }
  return {
    path,
    unmount: () => {
      execFileSync('umount', [path], { stdio: 'ignore' });
      rmSync(path, { recursive: true, force: true });
    },
  };
}

describe('a full disk', () => {
  const fs = tinyFilesystem(32);
  afterAll(() => fs?.unmount());
  if (fs === null && process.env.CI === 'true') throw new Error('CI must be able to mount a tmpfs (run as root) for the full-disk test');

  it.skipIf(fs === null)('answers 500 HEARSAY_ERR_PERSIST for a registration that cannot be saved, and does not make it', async () => {
    const root = (fs as { path: string }).path;
    const dir = join(root, 'data');
    const agent = await agents.start('full-disk', { dataDir: dir, dns: 'off' });
    const acked: string[] = [];
    for (let k = 0; k < 3; k++) {
      const a = await api(agent, 'PUT', '/v1/services', { id: `ok-${k}`, name: 'web', port: 1 + k });
      expect(a?.status).toBe(200);
      acked.push(`ok-${k}`);
    }
    // Fill the file system to the last byte.
    const filler = join(root, 'filler');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1k', 'count=1024'], { stdio: 'ignore' });
    } catch {
      // dd stops with ENOSPC: that is the point
    }
    const refused = await api(agent, 'PUT', '/v1/services', { id: 'no-room', name: 'web', port: 9 });
    expect(refused).toMatchObject({ status: 500, body: { code: 'HEARSAY_ERR_PERSIST', error: expect.stringContaining('ENOSPC') } });
    expect(await localIds(agent)).toEqual(new Set(acked)); // not made
    const del = await api(agent, 'DELETE', '/v1/services/ok-0');
    expect(del).toMatchObject({ status: 500, body: { code: 'HEARSAY_ERR_PERSIST' } });
    expect((await localIds(agent)).has('ok-0')).toBe(true); // not made either
    // After a crash, exactly the acknowledged state comes back.
    rmSync(filler);
    await kill9(agent);
    const again = await agents.start('full-disk-2', { dataDir: dir, dns: 'off' });
    expect([...(await localIds(again))].sort()).toEqual(acked);
  });
});
