/** `hearsay maint enable|disable [--service ID] [--reason R]`: maintenance mode for the node or one instance (PUT /v1/maintenance). */
import { clientCommand } from '../client-command.js';
import { UsageError } from '../command.js';

export const command = clientCommand({
  name: 'maint',
  summary: 'take this node (or one instance) out of lookups for maintenance, and put it back',
  details: 'In maintenance an instance is reported "maintenance" and left out of default lookups, DNS and pick.',
  flags: {
    service: { type: 'string', placeholder: 'ID', description: 'only this instance (default: every instance of the node)' },
    reason: { type: 'string', placeholder: 'TEXT', description: 'why, shown with the instance (enable only)' },
  },
  args: { placeholder: 'enable|disable', description: 'turn maintenance mode on or off', min: 1, max: 1 },
  async run(client, values, args) {
    const mode = args[0] as string;
    if (mode !== 'enable' && mode !== 'disable') throw new UsageError(`"${mode}" is not a mode: use enable or disable`);
    const body = {
      enable: mode === 'enable',
      ...(values.service === undefined ? {} : { serviceId: values.service }),
      ...(values.reason === undefined ? {} : { reason: values.reason }),
    };
    const answer = await client.call('PUT', '/v1/maintenance', { body });
    const what = values.service === undefined ? 'this node' : `instance ${values.service}`;
    return { json: answer, text: `maintenance ${mode === 'enable' ? 'on' : 'off'} for ${what}\n` };
  },
});
