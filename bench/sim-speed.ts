/**
 * The simulator's speed against another revision, side by side in one run: the baseline revision
 * is checked out into a temporary git worktree (under the system's temp directory, outside this
 * repository), and each side's own `npm run bench:sim` runs as a child process, alternating (the
 * order flips every run, so neither side always runs on a warmer or a cooler machine). Every
 * simulated outcome (every field of bench:sim's JSON but its wall time and memory figures) must be
 * the same on both sides: the command exits 1 when any differs.
 *
 *   npm run bench:sim-speed -- --baseline <git-rev> [--nodes 10000] [--seconds 60] [--runs 3] [--loss 0] [--seed 1] [--json]
 *
 * Run it under `flock /tmp/hearsay-heavy.lock` on a shared machine.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { benchArgs, median, round } from './support.js';

const USAGE =
  'npm run bench:sim-speed -- --baseline GIT_REV [--nodes N] [--seconds SIM_S] [--runs K] [--loss FRACTION] [--seed S] [--profile lan|wan|local] [--json]';

/** bench:sim's fields that are measurements of the machine, not outcomes of the simulation. */
const MACHINE_FIELDS = new Set(['wallMs', 'peakRssMb', 'bytesPerMemberEntry', 'bytesPerReplicaEntry', 'stateWallMs', 'peakRssMbAfterState']);

const args = benchArgs('bench:sim-speed', USAGE, {
  baseline: { type: 'string', default: '' },
  nodes: { type: 'int', default: 10_000, min: 4 },
  seconds: { type: 'number', default: 60, min: 20, hint: 'simulated seconds' },
  runs: { type: 'int', default: 3, min: 1 },
  loss: { type: 'number', default: 0, min: 0, below: 1, hint: 'a fraction such as 0.1' },
  seed: { type: 'int', default: 1 },
  profile: { type: 'string', default: 'lan' },
  json: { type: 'boolean' },
});

function fail(message: string): never {
  process.stderr.write(`bench:sim-speed: ${message}\nusage: ${USAGE}\n`);
  process.exit(2);
}

const here = resolve(import.meta.dirname, '..');
if (args.baseline === '') fail('--baseline is required: the git revision to compare with (e.g. main, or a commit id)');

function git(...argv: string[]): string {
  return execFileSync('git', argv, { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

let baselineCommit: string;
try {
  baselineCommit = git('rev-parse', '--verify', `${args.baseline}^{commit}`);
} catch {
  fail(`--baseline ${args.baseline} is not a commit of this repository (try a branch name or a commit id from git log)`);
}
const currentCommit = git('rev-parse', 'HEAD');
const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';

const progress = (what: string): void => {
  if (!args.json) process.stderr.write(`bench:sim-speed: ${what}\n`);
};

type SimResult = Record<string, unknown> & { wallMs: number; peakRssMb: number; bytesPerMemberEntry: number };

function runSide(dir: string): SimResult {
  const simArgs = ['--nodes', String(args.nodes), '--seconds', String(args.seconds), '--loss', String(args.loss), '--seed', String(args.seed), '--profile', args.profile, '--json'];
  const r = spawnSync('npm', ['run', '-s', 'bench:sim', '--', ...simArgs], { cwd: dir, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    throw new Error(`bench:sim in ${dir} exited with ${r.status ?? r.signal}`);
  }
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as SimResult;
}

/** The simulated outcome: every field but the machine's measurements. */
function outcome(r: SimResult): string {
  return JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !MACHINE_FIELDS.has(k))));
}

const scratch = mkdtempSync(join(tmpdir(), 'hearsay-sim-speed-'));
const baseDir = join(scratch, 'baseline');
try {
  progress(`checking out ${args.baseline} (${baselineCommit.slice(0, 10)}) into ${baseDir}`);
  git('worktree', 'add', '--detach', baseDir, baselineCommit);
  // The baseline runs on this checkout's installed packages (its package.json must not need others).
  if (!existsSync(join(baseDir, 'node_modules'))) symlinkSync(realpathSync(join(here, 'node_modules')), join(baseDir, 'node_modules'));

  const base: SimResult[] = [];
  const cur: SimResult[] = [];
  const loads: number[] = [];
  for (let k = 0; k < args.runs; k++) {
    const order: ['baseline' | 'current', string][] = [
      ['baseline', baseDir],
      ['current', here],
    ];
    if (k % 2 === 1) order.reverse();
    for (const [side, dir] of order) {
      loads.push(round(loadavg()[0] as number, 2));
      const r = runSide(dir);
      (side === 'baseline' ? base : cur).push(r);
      progress(`run ${k + 1}/${args.runs} ${side}: ${r.wallMs} ms wall, ${r.peakRssMb} MB peak RSS`);
    }
  }

  const expected = outcome(base[0] as SimResult);
  const differing = [...base, ...cur].map(outcome).filter((o) => o !== expected);
  const baseMedian = median(base.map((r) => r.wallMs)) as number;
  const curMedian = median(cur.map((r) => r.wallMs)) as number;
  const result = {
    baseline: args.baseline,
    baselineCommit: baselineCommit.slice(0, 10),
    currentCommit: currentCommit.slice(0, 10) + (dirty ? '+dirty' : ''),
    nodes: args.nodes,
    seconds: args.seconds,
    loss: args.loss,
    seed: args.seed,
    profile: args.profile,
    runs: args.runs,
    sameResults: differing.length === 0,
    baselineWallMs: base.map((r) => r.wallMs),
    currentWallMs: cur.map((r) => r.wallMs),
    baselineWallMedianMs: baseMedian,
    currentWallMedianMs: curMedian,
    speedup: round(baseMedian / curMedian, 2),
    baselinePeakRssMb: median(base.map((r) => r.peakRssMb)),
    currentPeakRssMb: median(cur.map((r) => r.peakRssMb)),
    baselineBytesPerMemberEntry: (base[0] as SimResult).bytesPerMemberEntry,
    currentBytesPerMemberEntry: (cur[0] as SimResult).bytesPerMemberEntry,
    loadAverages: loads,
    loadAverageAfter: loadavg().map((v) => round(v, 2)),
    result: JSON.parse(expected) as unknown,
    ...(differing.length === 0 ? {} : { differing: differing.map((d) => JSON.parse(d) as unknown) }),
  };
  process.stdout.write(`${args.json ? JSON.stringify(result) : JSON.stringify(result, null, 2)}\n`);
  if (differing.length > 0) {
    process.stderr.write('bench:sim-speed: the two sides simulated different outcomes for the same seed (see "differing")\n');
    process.exitCode = 1;
  }
} finally {
  try {
    git('worktree', 'remove', '--force', baseDir);
  } catch {
    // Not created (a failed checkout): nothing to remove.
  }
  rmSync(scratch, { recursive: true, force: true });
}
