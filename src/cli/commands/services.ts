/**
 * `hearsay services`: the service names the mesh knows with instance counts (GET /v1/services),
 * or with --local this agent's own registrations and checks (GET /v1/registrations).
 */
import type { ServiceSummary } from '../../registry/types.js';
import { clientCommand } from '../client-command.js';
import { formatServicesTable } from './service-format.js';

const flags = {
  local: { type: 'boolean', description: "show this agent's own registrations with their checks (JSON)" },
  json: { type: 'boolean', description: 'print the JSON the API returns instead of a table' },
} as const;

export const command = clientCommand({
  name: 'services',
  summary: 'list the services in the mesh with their instance counts',
  details: 'Exit code 1 if no agent answers at the --http address.',
  flags,
  async run(client, values) {
    if (values.local) {
      const local = await client.call('GET', '/v1/registrations');
      return { json: local, text: `${JSON.stringify(local, null, 2)}\n` };
    }
    const list = (await client.call('GET', '/v1/services')) as ServiceSummary[];
    return { json: list, text: formatServicesTable(list) };
  },
});
