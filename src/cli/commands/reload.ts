/** `hearsay reload`: makes the agent reread its config file (POST /v1/agent/reload), as SIGHUP does. */
import type { ReloadReport } from '../../api/context.js';
import { clientCommand } from '../client-command.js';

export const command = clientCommand({
  name: 'reload',
  summary: 'make a running agent reread its config file: services, checks, tags and log level (and its certificate and API tokens files)',
  details: 'The agent stays in the mesh. Settings that need a restart (bind, name, keys, ...) are named. Exit code 1 if the file is invalid.',
  flags: {},
  async run(client) {
    const r = (await client.call('POST', '/v1/agent/reload')) as ReloadReport;
    const s = r.services;
    const lines = [`reloaded: ${s.registered.length} registered, ${s.updated.length} updated, ${s.deregistered.length} deregistered; log level ${r.logLevel}`];
    if (r.needsRestart.length > 0) lines.push(`changed, applied at the next start: ${r.needsRestart.join(', ')}`);
    if (r.identity !== undefined) lines.push(`certificate: ${r.identity === 'refused' ? "refused, the old one is kept (the agent's log says why)" : r.identity}`);
    if (r.apiTokens !== undefined) lines.push(`API tokens: ${r.apiTokens === 'refused' ? "refused, the old ones are kept (the agent's log says why)" : `${r.apiTokens} in force`}`);
    return { json: r, text: `${lines.join('\n')}\n` };
  },
});
