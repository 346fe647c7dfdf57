/**
 * The `hearsay` CLI entry and `hearsay sim` (kept beside the simulator tests).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { parseFlags } from '../../src/cli/parser.js';
import { UsageError, type Io } from '../../src/cli/command.js';
import { command as sim } from '../../src/cli/commands/sim.js';
import { convergenceSpec } from '../../src/sim/plot.js';

function capture(tty = false): Io & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s), isTTY: tty },
    out: () => out,
    err: () => err,
  };
}

describe('hearsay CLI', () => {
  it('prints usage and exits 2 for no command or an unknown one', async () => {
    const a = capture();
    expect(await main([], a)).toBe(2);
    expect(a.err()).toContain('usage: hearsay <command>');
    const b = capture();
    expect(await main(['frobnicate'], b)).toBe(2);
    expect(b.err()).toContain('unknown command "frobnicate"');
    expect(b.err()).toMatch(/^ {2}sim +simulate a cluster/m);
  });

  it('prints usage on stdout and exits 0 for --help', async () => {
    const a = capture();
    expect(await main(['--help'], a)).toBe(0);
    expect(a.out()).toContain('commands:');
    const b = capture();
    expect(await main(['sim', '--help'], b)).toBe(0);
    expect(b.out()).toContain('--nodes N');
    expect(b.out()).toContain('(default 50)');
  });

  it('rejects bad flags with what to do, and exits 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--nodes', 'ten'], /--nodes must be an integer >= 2 and <= 100000 \(got "ten"\), e\.g\. --nodes 100/],
      [['--loss', '1'], /--loss must be a number >= 0 and < 1 \(got "1"\), e\.g\. --loss 0\.05/],
      [['--profile', 'moon'], /--profile must be one of lan, wan, local \(got "moon"\)/],
      [['--plot', 'chart.png'], /--plot must name an \.svg file, e\.g\. --plot convergence\.svg/],
      [['--bogus'], /unknown flag --bogus for 'hearsay sim': known flags are --nodes, --seed/],
      [['--seed'], /--seed needs a value, e\.g\. --seed 42/],
      [['extra'], /unexpected argument "extra"/],
      [['--json=maybe'], /--json takes no value or =true\/=false/],
    ];
    for (const [argv, message] of cases) {
      const io = capture();
      expect(await main(['sim', ...argv], io)).toBe(2);
      expect(io.err()).toMatch(message);
      expect(io.err()).toContain("run 'hearsay sim --help' for usage");
    }
  });

  it('parses --flag value, --flag=value, underscores in numbers and defaults', () => {
    const v = parseFlags('sim', sim.flags, ['--nodes=1_000', '--loss', '0.05', '--json']);
    expect(v.nodes).toBe(1000);
    expect(v.loss).toBe(0.05);
    expect(v.json).toBe(true);
    expect(v.profile).toBe('lan');
    expect(v.seed).toBeUndefined();
    expect(() => parseFlags('sim', sim.flags, ['--nodes', '2.5'])).toThrow(UsageError);
  });
});

describe('hearsay sim', () => {
  it('replays the same report for the same seed, wall time aside', async () => {
    const run = async (): Promise<Record<string, unknown>> => {
      const io = capture();
      expect(await main(['sim', '--nodes', '12', '--seed', '99', '--profile', 'local', '--json'], io)).toBe(0);
      const report = JSON.parse(io.out()) as Record<string, unknown>;
      delete report.wallMs;
      return { report, progress: io.err() };
    };
    const a = await run();
    expect(await run()).toEqual(a);
    const report = a.report as { seed: number; steps: { kind: string; allMs: number | null; reached: number; population: number }[] };
    expect(report.seed).toBe(99);
    expect(report.steps.map((s) => s.kind)).toEqual(['join', 'dead', 'leave']);
    for (const s of report.steps) {
      expect(s.allMs).not.toBeNull();
      expect(s.reached).toBe(s.population);
    }
  });

  it('prints a readable summary with a replay line, plain progress lines off a TTY, and writes the plot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-sim-'));
    const file = join(dir, 'c.svg');
    const io = capture(false);
    expect(await main(['sim', '--nodes', '10', '--seed', '5', '--profile', 'local', '--loss', '0.01', '--plot', file], io)).toBe(0);
    const out = io.out();
    expect(out).toContain('hearsay sim: 10 nodes, profile local, seed 5, loss 1%');
    expect(out).toMatch(/join of n11 +[\d.]+ s +[\d.]+ s +8\/8/); // 11 nodes less the crashed, the left and n11 itself
    expect(out).toContain('traffic per node per second:');
    expect(out).toContain('false deaths: ');
    expect(out).toContain('replay: hearsay sim --nodes 10 --seed 5 --profile local --loss 0.01');
    expect(io.err()).not.toContain('\r');
    expect(io.err().split('\n')[0]).toMatch(/^t= +5\.0s {2}/);
    const svg = readFileSync(file, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('crash (dead) of');
  });

  it('overwrites one progress line with carriage returns on a TTY', async () => {
    const io = capture(true);
    expect(await main(['sim', '--nodes', '5', '--seed', '1', '--profile', 'local', '--seconds', '20'], io)).toBe(0);
    expect(io.err().startsWith('\r')).toBe(true);
    expect(io.err().endsWith('\r')).toBe(true);
    expect(io.err()).not.toContain('\n');
  });
});

describe('convergence plot spec', () => {
  it('draws one step line per event, in percent over seconds', () => {
    const spec = convergenceSpec(
      [
        { label: 'join of n51', points: [{ ms: 0, share: 0 }, { ms: 500, share: 1 }] },
        { label: 'leave of n3', points: [{ ms: 0, share: 0 }, { ms: 1500, share: 0.5 }] },
      ],
      { title: 't' },
    ) as unknown as { data: { values: unknown[] }; mark: { interpolate: string } };
    expect(spec.mark.interpolate).toBe('step-after');
    expect(spec.data.values).toContainEqual({ seconds: 1.5, percent: 50, event: 'leave of n3' });
    expect(spec.data.values).toHaveLength(4);
  });
});
