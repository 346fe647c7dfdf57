/**
 * `hearsay leave`: asks a running agent (POST /v1/leave) to leave the mesh gracefully. The agent
 * answers once its `left` message has gone out, then exits.
 */
import { clientCommand } from '../client-command.js';

export const command = clientCommand({
  name: 'leave',
  summary: 'make a running agent leave the mesh gracefully and exit',
  details: 'Exit code 1 if no agent answers at the --http address or the leave failed.',
  flags: {},
  async run(client) {
    const answer = (await client.call('POST', '/v1/leave', { timeoutMs: 60_000 })) as { name?: unknown };
    const name = typeof answer.name === 'string' ? answer.name : 'the agent';
    return { json: answer, text: `${name} left the cluster\n` };
  },
});
