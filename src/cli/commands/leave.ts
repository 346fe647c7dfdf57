/**
 * `hearsay leave`: asks a running agent (POST /v1/leave) to leave the mesh gracefully. The agent
 * answers once its `left` message has gone out, then exits.
 */
import { callAgent, httpFlag, reportClientError, resolveHttpAddress } from '../http-client.js';
import type { Command } from '../main.js';

const flags = {
  http: httpFlag,
} as const;

export const command: Command<typeof flags> = {
  name: 'leave',
  summary: 'make a running agent leave the mesh gracefully and exit',
  details: 'Exit code 1 if no agent answers at the --http address or the leave failed.',
  flags,
  async run(values, io) {
    const address = resolveHttpAddress(values.http);
    try {
      const answer = (await callAgent(address, 'POST', '/v1/leave', { timeoutMs: 60_000 })) as { name?: unknown };
      const name = typeof answer.name === 'string' ? answer.name : 'the agent';
      io.stdout.write(`${name} left the cluster\n`);
      return 0;
    } catch (err) {
      return reportClientError('leave', err, io);
    }
  },
};
