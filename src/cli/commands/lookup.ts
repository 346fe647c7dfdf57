/** `hearsay lookup NAME`: the instances of a service from the agent's local view (GET /v1/services/NAME). */
import type { ServiceInstance } from '../../registry/types.js';
import { callAgent, httpFlag, reportClientError, resolveHttpAddress } from '../http-client.js';
import type { Command } from '../main.js';
import { formatInstancesTable, lookupQuery } from './service-format.js';

const flags = {
  tag: { type: 'string', repeatable: true, placeholder: 'TAG', description: 'only instances with this tag (repeat: all of them)' },
  status: { type: 'string', placeholder: 'STATUS', description: 'passing (default), warning, critical, maintenance, any, or a comma list' },
  json: { type: 'boolean', description: 'print the JSON array the API returns instead of a table' },
  http: httpFlag,
} as const;

export const command: Command<typeof flags> = {
  name: 'lookup',
  summary: 'look up the healthy instances of a service',
  details: 'Instances on suspect nodes come last. Exit code 1 if no agent answers at the --http address.',
  flags,
  args: { placeholder: 'NAME', description: 'the service name', min: 1, max: 1 },
  async run(values, io, args) {
    const name = args[0]!;
    try {
      const list = (await callAgent(resolveHttpAddress(values.http), 'GET', `/v1/services/${encodeURIComponent(name)}${lookupQuery(values.tag, values.status)}`)) as ServiceInstance[];
      io.stdout.write(values.json ? `${JSON.stringify(list, null, 2)}\n` : formatInstancesTable(list));
      return 0;
    } catch (err) {
      return reportClientError('lookup', err, io);
    }
  },
};
