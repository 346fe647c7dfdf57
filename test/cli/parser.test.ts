/**
 * The CLI parser's repeatable flags and positional arguments, and the new commands' help.
 */
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseCommandLine } from '../../src/cli/parser.js';
import { UsageError, type FlagSpecs } from '../../src/cli/command.js';
import { capture } from './support.js';

const specs = {
  join: { type: 'string', repeatable: true, description: 'seed' },
  name: { type: 'string', description: 'name' },
  json: { type: 'boolean', description: 'json' },
} as const satisfies FlagSpecs;

describe('command line parser', () => {
  it('collects a repeatable flag in order, and defaults it to an empty list', () => {
    const { values } = parseCommandLine('agent', specs, undefined, ['--join', 'a:1', '--name', 'n', '--join=b:2']);
    expect(values.join).toEqual(['a:1', 'b:2']);
    expect(values.name).toBe('n');
    expect(parseCommandLine('agent', specs, undefined, []).values.join).toEqual([]);
  });

  it('takes positional arguments among the flags and after --, when the command declares them', () => {
    const args = { placeholder: 'ADDR...', description: 'seeds', min: 1 };
    expect(parseCommandLine('join', specs, args, ['a:1', '--json', 'b:2', '--', '--c']).args).toEqual(['a:1', 'b:2', '--c']);
  });

  it('rejects too few positional arguments or a bad one, saying what they are', () => {
    const args = { placeholder: 'ADDR...', description: 'seeds to join through', min: 1, check: (v: string) => (v.includes(':') ? undefined : 'needs a port') };
    expect(() => parseCommandLine('join', specs, args, ['--json'])).toThrow(new UsageError("'hearsay join' needs at least one ADDR... argument: seeds to join through"));
    expect(() => parseCommandLine('join', specs, args, ['x'])).toThrow(new UsageError('argument "x" needs a port'));
  });

  it('rejects positional arguments for a command that takes none', () => {
    expect(() => parseCommandLine('members', specs, undefined, ['extra'])).toThrow(/unexpected argument "extra"/);
  });

  it('does not mistake inherited object properties for flags', () => {
    expect(() => parseCommandLine('members', specs, undefined, ['--constructor'])).toThrow(/unknown flag --constructor/);
  });

  it('lists the agent and client commands in the usage', async () => {
    const io = capture();
    expect(await main(['--help'], io)).toBe(0);
    for (const name of ['agent', 'members', 'join', 'leave', 'sim']) expect(io.out()).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
  });

  it("shows positional arguments and repeatable flags in a command's help", async () => {
    const join = capture();
    expect(await main(['join', '--help'], join)).toBe(0);
    expect(join.out()).toContain('usage: hearsay join [flags] ADDR...');
    expect(join.out()).toMatch(/arguments:\n {2}ADDR\.\.\. +gossip addresses/);
    const agent = capture();
    expect(await main(['agent', '--help'], agent)).toBe(0);
    expect(agent.out()).toMatch(/--join HOST:PORT +gossip address of an agent to join through \(\$HEARSAY_JOIN, comma-separated\) \(repeatable\)/);
    expect(agent.out()).toContain('--bind HOST:PORT');
    expect(agent.out()).toMatch(/--log-level LEVEL +log level on stderr: fatal, error, warn, info, debug, trace, silent/);
    expect(agent.out()).toMatch(/--retry-join HOST:PORT +seed to keep trying.*\(repeatable\)/);
  });

  it('exits 2 with what to do when join gets no address', async () => {
    const io = capture();
    expect(await main(['join'], io)).toBe(2);
    expect(io.err()).toContain("hearsay join: 'hearsay join' needs at least one ADDR... argument");
    const bad = capture();
    expect(await main(['join', '::1:7946'], bad)).toBe(2);
    expect(bad.err()).toContain('argument "::1:7946" looks like an IPv6 address without brackets');
  });
});
