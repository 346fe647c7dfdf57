/**
 * Real `hearsay agent` processes on 127.0.0.1 (the fast `local` profile), observed through
 * GET /v1/members: join, crash, graceful leave on SIGTERM and SIGINT, pause and resume.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Agents, exitOf, incarnationIn, kill9, lists, names, signal, sleep, waitUntil, type AgentProcess } from './support.js';

const agents = new Agents();
afterEach(() => agents.killAll());
afterAll(() => agents.dispose());

/** Three agents, the second and third joining the first; resolves once all list all alive. */
async function threeJoined(prefix: string): Promise<[AgentProcess, AgentProcess, AgentProcess]> {
  const a = await agents.start(`${prefix}-a`);
  const [b, c] = await Promise.all([agents.start(`${prefix}-b`, { join: [a.gossip] }), agents.start(`${prefix}-c`, { join: [a.gossip] })]);
  const all = [a, b, c];
  await waitUntil('every agent lists every agent alive', all, lists(names(all), 'alive'), { timeoutMs: 30_000 });
  return [a, b, c];
}

describe('agent processes on 127.0.0.1', () => {
  it('three agents joined through one seed list each other alive', { timeout: 90_000 }, async () => {
    const all = await threeJoined('join');
    const views = await waitUntil('every agent lists every agent alive', all, lists(names(all), 'alive'), { timeoutMs: 5000 });
    for (const observer of all) {
      const view = views.get(observer.name);
      expect(view?.size).toBe(3);
      for (const member of all) {
        const row = view?.get(member.name);
        expect(`${row?.addr}:${row?.port}`).toBe(member.gossip);
      }
    }
  });

  it('lists an agent killed with SIGKILL as dead in every other view', { timeout: 90_000 }, async () => {
    const [a, b, c] = await threeJoined('crash');
    await kill9(c);
    await waitUntil('a and b list crash-c dead', [a, b], lists([c.name], 'dead'), { timeoutMs: 45_000 });
    await waitUntil('a and b still list each other alive', [a, b], lists([a.name, b.name], 'alive'), { timeoutMs: 5000 });
  });

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`an agent sent ${sig} leaves gracefully: it exits 0 and the others list it left, not dead`, { timeout: 90_000 }, async () => {
      const prefix = sig.toLowerCase();
      const [a, b, c] = await threeJoined(prefix);
      signal(c, sig);
      expect(await exitOf(c)).toEqual({ code: 0, signal: null });
      await waitUntil(`a and b list ${c.name} left`, [a, b], lists([c.name], 'left'), { timeoutMs: 20_000 });
      // Several probe rounds later it is still left: nobody suspected it and declared it dead.
      await sleep(3000);
      await waitUntil(`a and b still list ${c.name} left and each other alive`, [a, b], (v) => lists([c.name], 'left')(v) && lists([a.name, b.name], 'alive')(v), {
        timeoutMs: 5000,
      });
    });
  }

  for (const until of ['suspect', 'dead'] as const) {
    it(`an agent paused with SIGSTOP until the others list it ${until} refutes after SIGCONT and is alive everywhere at a higher incarnation`, { timeout: 90_000 }, async () => {
      const [a, b, c] = await threeJoined(`pause-${until}`);
      const before = await incarnationIn(a, c.name);
      signal(c, 'SIGSTOP');
      const seen = until === 'dead' ? (['dead'] as const) : (['suspect', 'dead'] as const);
      await waitUntil(`a and b list ${c.name} ${seen.join(' or ')}`, [a, b], lists([c.name], seen), { timeoutMs: 45_000 });
      signal(c, 'SIGCONT');
      await waitUntil(
        `every agent lists ${c.name} alive at an incarnation above ${before}`,
        [a, b, c],
        (v) => lists(names([a, b, c]), 'alive')(v) && (v.get(c.name)?.incarnation ?? -1) > before,
        { timeoutMs: 30_000 },
      );
    });
  }
});
