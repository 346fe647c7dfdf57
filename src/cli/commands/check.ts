/** `hearsay check pass|warn|fail ID [--note TEXT]`: reports a TTL check's result to the agent (PUT /v1/checks/ID/pass). */
import type { CheckInfo } from '../../registry/local.js';
import { clientCommand } from '../client-command.js';
import { UsageError } from '../command.js';

const ACTIONS = ['pass', 'warn', 'fail'] as const;

export const command = clientCommand({
  name: 'check',
  summary: "report a TTL check's result: pass, warn or fail",
  details: 'A TTL check turns critical when no result arrives within its TTL. List the checks with `hearsay services --local`.',
  flags: { note: { type: 'string', placeholder: 'TEXT', description: "the check's output, e.g. what was tested" } },
  args: { placeholder: 'pass|warn|fail ID', description: 'the result and the check id', min: 2, max: 2 },
  async run(client, values, args) {
    const [action, id] = args as [string, string];
    if (!(ACTIONS as readonly string[]).includes(action)) throw new UsageError(`"${action}" is not a result: use pass, warn or fail, e.g. hearsay check pass ${id}`);
    const check = (await client.call('PUT', `/v1/checks/${encodeURIComponent(id)}/${action}`, values.note === undefined ? {} : { body: { note: values.note } })) as CheckInfo;
    return { json: check, text: `${check.id}: ${check.status}\n` };
  },
});
