/** `hearsay lookup NAME`: the instances of a service from the agent's local view (GET /v1/services/NAME). */
import type { ServiceInstance } from '../../registry/types.js';
import { clientCommand } from '../client-command.js';
import { FILTER_FLAGS, formatInstancesTable, lookupQuery } from './service-format.js';

const flags = {
  ...FILTER_FLAGS,
  json: { type: 'boolean', description: 'print the JSON array the API returns instead of a table' },
} as const;

export const command = clientCommand({
  name: 'lookup',
  summary: 'look up the healthy instances of a service',
  details: 'Instances on suspect nodes come last. Exit code 1 if no agent answers at the --http address.',
  flags,
  args: { placeholder: 'NAME', description: 'the service name', min: 1, max: 1 },
  async run(client, values, args) {
    const name = args[0] as string;
    const list = (await client.call('GET', `/v1/services/${encodeURIComponent(name)}${lookupQuery(values.tag, values.status)}`)) as ServiceInstance[];
    return { json: list, text: formatInstancesTable(list) };
  },
});
