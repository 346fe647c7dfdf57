/** `hearsay deregister ID`: removes a service instance from a running agent (DELETE /v1/services/ID). */
import { clientCommand } from '../client-command.js';

export const command = clientCommand({
  name: 'deregister',
  summary: 'deregister a service instance from a running agent',
  details: 'Exit code 1 if the agent has no instance with that id (list them: hearsay services --local).',
  flags: {},
  args: { placeholder: 'ID', description: 'the instance id (as register printed it)', min: 1, max: 1 },
  async run(client, _values, args) {
    const id = args[0] as string;
    const answer = await client.call('DELETE', `/v1/services/${encodeURIComponent(id)}`);
    return { json: answer, text: `deregistered ${id}\n` };
  },
});
