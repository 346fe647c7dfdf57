/**
 * `hearsay cluster`: a local multi-process cluster on 127.0.0.1. Starts N agent processes with
 * free ports, joins them, shows progress while they converge, then runs a scenario (kill -9 one,
 * SIGSTOP then SIGCONT one, one graceful leave) and prints how long each took to be seen by all.
 * Every process it started is killed when it ends, also on Ctrl-C.
 */
import { runScenario } from '../../cluster/scenario.js';
import { formatEta } from '../../util/eta.js';
import type { Command } from '../command.js';

const flags = {
  nodes: { type: 'int', default: 5, min: 2, max: 200, placeholder: 'N', description: 'how many agent processes to start', example: '10' },
  profile: { type: 'choice', choices: ['lan', 'wan', 'local'], default: 'local', description: 'timing profile of every agent' },
  json: { type: 'boolean', description: 'print the result as one JSON line on stdout (progress and step lines go to stderr)' },
  logs: { type: 'boolean', description: "pass the agents' logs through to stderr" },
} as const;

export const command: Command<typeof flags> = {
  name: 'cluster',
  summary: 'start N agent processes on 127.0.0.1, converge them, kill/pause/leave some and time it',
  details:
    'The scenario: start N agents, join them all to the first, wait until every agent lists every ' +
    'other alive; kill -9 one and wait until all list it dead; SIGSTOP one for three probe ' +
    'intervals, SIGCONT it and wait until all list it alive again; SIGTERM one and wait until all ' +
    'list it left. Progress (the step of 5, counts, an estimate of the time left) goes to stderr, ' +
    'also with --json, which leaves stdout to the JSON result. Exit code 1 if a step never completed.',
  flags,
  async run(values, io) {
    // Progress always goes to stderr; the results go to stdout as text, or (with --json) stdout
    // holds only the JSON and the result lines go to stderr with the progress.
    const tty = io.stderr.isTTY === true;
    const results = values.json ? io.stderr : io.stdout;
    let shown = '';
    let open = false;
    const result = await runScenario({
      nodes: values.nodes,
      profile: values.profile,
      logs: values.logs ? process.stderr : 'ignore',
      progress: (line, status) => {
        if (status === undefined) {
          if (open) io.stderr.write('\r\x1b[K');
          open = false;
          results.write(`${line}\n`);
          return;
        }
        const text = `step ${status.step}/${status.steps}  ${status.what}  ${formatEta(status.etaMs)}`;
        if (tty) {
          io.stderr.write(`\r\x1b[K${text}`);
          open = true;
        } else if (status.what !== shown && !status.what.includes(': 0/')) {
          // Off a terminal, one line each time the count changes (not at every poll).
          io.stderr.write(`${text}\n`);
        }
        shown = status.what;
      },
    });
    if (open) io.stderr.write('\r\x1b[K');
    if (values.json) {
      const { steps: _steps, ...rest } = result;
      io.stdout.write(`${JSON.stringify(rest)}\n`);
    }
    const failed = [result.joinConvergenceMs, result.failureDetectionMs, result.pauseRecoveryMs, result.leaveMs].some((v) => v === null);
    return failed ? 1 : 0;
  },
};
