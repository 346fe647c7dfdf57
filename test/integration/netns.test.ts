/**
 * Agents on separate "hosts": three network namespaces the test creates, each with its own
 * address on a veth pair to a bridge that lives in a fourth namespace, so the host's own network
 * is never touched and the test subnet exists only inside these namespaces (no routes into them).
 * A partition is made by taking one namespace's link down until both sides have declared the
 * other dead; once the link is back, the views heal through the reconnect timer and push-pull.
 *
 * It needs root and `ip netns` (as on CI here); elsewhere it is skipped with the reason printed.
 * Every namespace it made is deleted in afterAll (which also deletes their veths and the bridge),
 * and `ip netns list` is checked for leftovers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILES } from '../../src/membership/options.js';
import { Fetcher, inNs, makeBridgedNamespaces, tearDown, whyUnavailable } from './netns-support.js';
import { Agents, lists, names, waitUntil, type AgentProcess } from './support.js';

const PREFIX = `hs-${process.pid}-`;
const NODES = ['a', 'b', 'c'] as const;
const nsOf = (node: string): string => `${PREFIX}${node}`;
/** A private /24 used only inside the test's namespaces. */
const SUBNET = `10.213.${10 + (process.pid % 240)}`;
const ipOf = (i: number): string => `${SUBNET}.${11 + i}`;
const GOSSIP_PORT = 7946;

const unavailable = whyUnavailable(PREFIX);
if (unavailable !== null) console.warn(`skipping the network-namespace test: ${unavailable}`);

describe.skipIf(unavailable !== null)(`agents in network namespaces${unavailable === null ? '' : ` (skipped: ${unavailable})`}`, () => {
  const agents = new Agents();
  const fetchers: Fetcher[] = [];
  const made: string[] = [];

  beforeAll(() => {
    made.push(...makeBridgedNamespaces(PREFIX, NODES, ipOf));
    for (const node of NODES) fetchers.push(new Fetcher(nsOf(node)));
  }, 30_000);

  afterAll(async () => {
    const { problems, left } = await tearDown(agents, fetchers, PREFIX, made);
    expect(left, `namespaces left behind: ${left.join(', ')}; ${problems.join('; ')}`).toEqual([]);
  }, 30_000);

  it('three agents on their own addresses join, survive a partition of one, and heal once its link is back', { timeout: 120_000 }, async () => {
    const start = (i: number, join: readonly string[]): Promise<AgentProcess> => {
      const node = NODES[i] as string;
      const fetcher = fetchers[i] as Fetcher;
      return agents.start(`ns-${node}`, {
        netns: nsOf(node),
        bind: `${ipOf(i)}:${GOSSIP_PORT}`,
        http: '127.0.0.1:0',
        join,
        get: (http) => fetcher.get(http),
      });
    };
    const a = await start(0, []);
    expect(a.gossip).toBe(`${ipOf(0)}:${GOSSIP_PORT}`);
    const [b, c] = await Promise.all([start(1, [a.gossip]), start(2, [a.gossip])]);
    const all = [a, b, c];
    const views = await waitUntil('every agent lists every agent alive', all, lists(names(all), 'alive'), { timeoutMs: 30_000 });
    for (const [i, agent] of all.entries()) {
      const row = views.get(a.name)?.get(agent.name);
      expect(`${row?.addr}:${row?.port}`).toBe(`${ipOf(i)}:${GOSSIP_PORT}`);
    }

    // Partition: ns-a's link goes down; both sides must give the other up for dead.
    inNs(nsOf('a'), 'link', 'set', 'eth0', 'down');
    await Promise.all([
      waitUntil('ns-b and ns-c list ns-a dead', [b, c], lists([a.name], 'dead'), { timeoutMs: 45_000 }),
      waitUntil('ns-a lists ns-b and ns-c dead', [a], lists([b.name, c.name], 'dead'), { timeoutMs: 45_000 }),
    ]);
    await waitUntil('ns-b and ns-c still list each other alive', [b, c], lists([b.name, c.name], 'alive'), { timeoutMs: 5000 });

    // Heal: the reconnect timer retries dead members every reconnectIntervalMs and a push-pull
    // merges the views; allow several reconnect rounds plus a push-pull interval, with margin
    // for a loaded machine.
    inNs(nsOf('a'), 'link', 'set', 'eth0', 'up');
    const local = PROFILES.local;
    const healBoundMs = 5 * local.reconnectIntervalMs + local.pushPullIntervalMs + 10_000;
    await waitUntil('every agent lists every agent alive again', all, lists(names(all), 'alive'), { timeoutMs: healBoundMs });
  });
});
