/**
 * The client commands (`hearsay members`, `hearsay join`, `hearsay leave`) as real processes
 * against real agent processes on 127.0.0.1.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Agents, closedPort, exitOf, lists, names, runCli, waitUntil, type MemberRow } from './support.js';

const agents = new Agents();
afterEach(() => agents.killAll());
afterAll(() => agents.dispose());

describe('the hearsay CLI against running agents', () => {
  it('joins two agents with `hearsay join`, lists them with `hearsay members` and makes one leave with `hearsay leave`', { timeout: 90_000 }, async () => {
    const [a, b] = await Promise.all([agents.start('cli-a'), agents.start('cli-b')]);

    const joined = await runCli(['join', b.gossip, '--http', a.http]);
    expect(joined, joined.stderr).toMatchObject({ code: 0, stdout: 'joined through 1 of 1 seed\n' });
    await waitUntil('both agents list both alive', [a, b], lists(names([a, b]), 'alive'), { timeoutMs: 20_000 });

    const json = await runCli(['members', '--json', '--http', a.http]);
    expect(json.code, json.stderr).toBe(0);
    const rows = JSON.parse(json.stdout) as MemberRow[];
    expect(rows.map((r) => r.name).sort()).toEqual(['cli-a', 'cli-b']);
    for (const agent of [a, b]) {
      expect(rows.find((r) => r.name === agent.name)).toMatchObject({ status: 'alive', addr: '127.0.0.1', port: Number(agent.gossip.split(':')[1]) });
    }

    const table = await runCli(['members', '--http', b.http]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+ADDRESS\s+STATUS\s+INCARNATION\s+TAGS$/m);
    expect(table.stdout).toMatch(new RegExp(`^cli-a\\s+${a.gossip.replace(/\./g, '\\.')}\\s+alive\\s`, 'm'));
    expect(table.stdout).toContain('2 members: 2 alive');

    const left = await runCli(['leave', '--http', b.http]);
    expect(left, left.stderr).toMatchObject({ code: 0, stdout: 'cli-b left the cluster\n' });
    expect(await exitOf(b)).toEqual({ code: 0, signal: null });
    await waitUntil('cli-a lists cli-b left', [a], lists([b.name], 'left'), { timeoutMs: 20_000 });

    const after = await runCli(['members', '--json', '--http', a.http]);
    expect((JSON.parse(after.stdout) as MemberRow[]).find((r) => r.name === 'cli-b')?.status).toBe('left');
  });

  it('`hearsay members` against a port where no agent listens exits 1 and says how to start one', { timeout: 30_000 }, async () => {
    const port = await closedPort();
    const result = await runCli(['members', '--http', `127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`no hearsay agent answers at 127.0.0.1:${port}`);
    expect(result.stderr).toContain('hearsay agent');
  });

  it('`hearsay join` with a seed nobody answers at exits 1 and the agent keeps running', { timeout: 90_000 }, async () => {
    const a = await agents.start('cli-lonely');
    const port = await closedPort();
    const result = await runCli(['join', `127.0.0.1:${port}`, '--http', a.http], 80_000);
    expect(result.code, result.stdout).toBe(1);
    expect(result.stderr).toMatch(/^hearsay join: /);
    expect(result.stderr).toContain(`127.0.0.1:${port}`);
    await waitUntil('cli-lonely still answers and lists itself alive', [a], lists([a.name], 'alive'), { timeoutMs: 5000 });
  });
});
