/**
 * `hearsay services`: the service names the mesh knows with instance counts (GET /v1/services),
 * or with --local this agent's own registrations and checks (GET /v1/agent/services).
 */
import type { ServiceSummary } from '../../registry/types.js';
import { callAgent, httpFlag, reportClientError, resolveHttpAddress } from '../http-client.js';
import type { Command } from '../main.js';
import { formatServicesTable } from './service-format.js';

const flags = {
  local: { type: 'boolean', description: "show this agent's own registrations with their checks (JSON)" },
  json: { type: 'boolean', description: 'print the JSON the API returns instead of a table' },
  http: httpFlag,
} as const;

export const command: Command<typeof flags> = {
  name: 'services',
  summary: 'list the services in the mesh with their instance counts',
  details: 'Exit code 1 if no agent answers at the --http address.',
  flags,
  async run(values, io) {
    const address = resolveHttpAddress(values.http);
    try {
      if (values.local) {
        io.stdout.write(`${JSON.stringify(await callAgent(address, 'GET', '/v1/agent/services'), null, 2)}\n`);
        return 0;
      }
      const list = (await callAgent(address, 'GET', '/v1/services')) as ServiceSummary[];
      io.stdout.write(values.json ? `${JSON.stringify(list, null, 2)}\n` : formatServicesTable(list));
      return 0;
    } catch (err) {
      return reportClientError('services', err, io);
    }
  },
};
