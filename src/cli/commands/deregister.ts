/** `hearsay deregister ID`: removes a service instance from a running agent (DELETE /v1/services/ID). */
import { callAgent, httpFlag, reportClientError, resolveHttpAddress } from '../http-client.js';
import type { Command } from '../main.js';

const flags = { http: httpFlag } as const;

export const command: Command<typeof flags> = {
  name: 'deregister',
  summary: 'deregister a service instance from a running agent',
  details: 'Exit code 1 if the agent has no instance with that id (list them: hearsay services --local).',
  flags,
  args: { placeholder: 'ID', description: 'the instance id (as register printed it)', min: 1, max: 1 },
  async run(values, io, args) {
    const id = args[0]!;
    try {
      await callAgent(resolveHttpAddress(values.http), 'DELETE', `/v1/services/${encodeURIComponent(id)}`);
      io.stdout.write(`deregistered ${id}\n`);
      return 0;
    } catch (err) {
      return reportClientError('deregister', err, io);
    }
  },
};
