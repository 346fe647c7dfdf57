/**
 * `hearsay register`: registers a service instance with a running agent (PUT /v1/services), from
 * flags or from a JSON definition file (--file), and prints its id.
 */
import { readFile } from 'node:fs/promises';
import { clientCommand } from '../client-command.js';

const flags = {
  name: { type: 'string', placeholder: 'NAME', description: 'service name (a DNS label, e.g. billing-api); required unless --file' },
  port: { type: 'int', min: 1, max: 65_535, placeholder: 'PORT', description: 'port the instance serves on; required unless --file', example: '8080' },
  id: { type: 'string', placeholder: 'ID', description: 'instance id (default: a fresh unique id); registering a known id replaces it' },
  address: { type: 'string', placeholder: 'HOST', description: "address of the instance (default: the agent's advertise address)" },
  tag: { type: 'string', repeatable: true, placeholder: 'TAG', description: 'a tag (repeat for more)' },
  meta: { type: 'string', repeatable: true, placeholder: 'KEY=VALUE', description: 'a metadata entry (repeat for more)' },
  'check-http': { type: 'string', placeholder: 'URL', description: 'health check: GET URL (2xx passing, 429 warning, else critical)' },
  'check-tcp': { type: 'string', placeholder: 'HOST:PORT', description: 'health check: connect to HOST:PORT' },
  'check-command': { type: 'string', placeholder: 'CMD', description: 'health check: run CMD with /bin/sh (exit 0 passing, 1 warning, else critical); the agent must run with --enable-script-checks' },
  'check-ttl': { type: 'string', placeholder: 'DURATION', description: 'health check: the service reports pass/warn/fail within DURATION (PUT /v1/checks/ID/pass)' },
  interval: { type: 'string', placeholder: 'DURATION', description: 'how often the check runs (default 10s)' },
  timeout: { type: 'string', placeholder: 'DURATION', description: 'deadline of one check run (default 5s)' },
  'deregister-critical-after': { type: 'string', placeholder: 'DURATION', description: 'deregister the instance once its check has been critical this long' },
  file: { type: 'string', placeholder: 'FILE', description: 'read the definition (as PUT /v1/services takes it) from a JSON file instead of flags' },
  json: { type: 'boolean', description: 'print the registered instance as JSON' },
} as const;

export const command = clientCommand({
  name: 'register',
  summary: 'register a service instance with a running agent (its checks run in the agent)',
  details: [
    'Durations are like 500ms, 10s or 1m. Without a check the instance is passing; with one it is',
    'critical until the check first passes. Exit code 2 for a bad definition, 1 if the agent refused it.',
    'Example: hearsay register --name web --port 8080 --tag v2 --check-http http://127.0.0.1:8080/health',
  ].join('\n'),
  flags,
  async run(client, values, _args, io) {
    let body: Record<string, unknown>;
    if (values.file !== undefined) {
      try {
        body = JSON.parse(await readFile(values.file, 'utf8')) as Record<string, unknown>;
      } catch (err) {
        io.stderr.write(`hearsay register: --file "${values.file}" ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `is not a readable JSON file (${(err as Error).message})`}\n`);
        return 2;
      }
    } else {
      if (values.name === undefined || values.port === undefined) {
        io.stderr.write('hearsay register: give --name and --port (or --file with a JSON definition); see hearsay register --help\n');
        return 2;
      }
      const meta: Record<string, string> = {};
      for (const kv of values.meta) {
        const eq = kv.indexOf('=');
        if (eq <= 0) {
          io.stderr.write(`hearsay register: --meta "${kv}" must be KEY=VALUE, e.g. --meta version=1.4.2\n`);
          return 2;
        }
        meta[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
      const kinds = (
        [
          ['http', values['check-http']],
          ['tcp', values['check-tcp']],
          ['command', values['check-command']],
          ['ttl', values['check-ttl']],
        ] as const
      ).filter(([, v]) => v !== undefined);
      if (kinds.length === 0 && (values.interval !== undefined || values.timeout !== undefined || values['deregister-critical-after'] !== undefined)) {
        io.stderr.write('hearsay register: --interval, --timeout and --deregister-critical-after belong to a check: add --check-http, --check-tcp, --check-command or --check-ttl\n');
        return 2;
      }
      if (kinds.length > 1) {
        io.stderr.write('hearsay register: give at most one of --check-http, --check-tcp, --check-command and --check-ttl (use --file for several checks)\n');
        return 2;
      }
      const checks = kinds.map(([kind, target]) => ({
        [kind]: target,
        ...(values.interval === undefined ? {} : { interval: values.interval }),
        ...(values.timeout === undefined ? {} : { timeout: values.timeout }),
        ...(values['deregister-critical-after'] === undefined ? {} : { deregisterCriticalAfter: values['deregister-critical-after'] }),
      }));
      body = {
        name: values.name,
        port: values.port,
        ...(values.id === undefined ? {} : { id: values.id }),
        ...(values.address === undefined ? {} : { address: values.address }),
        ...(values.tag.length === 0 ? {} : { tags: values.tag }),
        ...(Object.keys(meta).length === 0 ? {} : { meta }),
        ...(checks.length === 0 ? {} : { checks }),
      };
    }
    const instance = (await client.call('PUT', '/v1/services', { body })) as { id: string; name: string; status: string };
    return { json: instance, text: `registered ${instance.name} instance ${instance.id} (${instance.status})\n` };
  },
});
