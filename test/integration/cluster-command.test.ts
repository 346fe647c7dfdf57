/**
 * `hearsay cluster` as a real process (it starts real agent processes): with --json, stdout is the
 * JSON result alone and the progress (step of the total, an ETA) and the step lines go to stderr.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from './support.js';

describe('hearsay cluster', () => {
  it('--json: only the JSON result on stdout; progress with the step of 5 and an ETA on stderr', { timeout: 120_000 }, async () => {
    const run = await runCli(['cluster', '--nodes', '3', '--profile', 'local', '--json'], 110_000);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines).toHaveLength(2); // one line and its newline
    const result = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(result).toMatchObject({ nodes: 3, profile: 'local' });
    for (const key of ['joinConvergenceMs', 'failureDetectionMs', 'pauseRecoveryMs', 'leaveMs']) expect(typeof result[key]).toBe('number');

    const err = run.stderr.split('\n').filter((l) => l !== '');
    const progress = err.filter((l) => l.startsWith('step '));
    expect(progress.length).toBeGreaterThanOrEqual(5);
    for (const line of progress) expect(line).toMatch(/^step [1-5]\/5 {2}.+ {2}ETA (\d+ s|\d+ min \d\d s|\?)$/);
    for (const step of [1, 2, 3, 4, 5]) expect(progress.some((l) => l.startsWith(`step ${step}/5 `))).toBe(true);
    expect(progress.some((l) => /converging: \d+\/3 agents list all 3 alive/.test(l))).toBe(true);
    expect(err.some((l) => /^join of 3 agents seen by all: \d+\.\d\d s$/.test(l))).toBe(true);
    expect(err.some((l) => l.startsWith('kill -9 of node-2 seen as dead by all: '))).toBe(true);
    expect(run.stderr).not.toContain('\r');
  });
});
