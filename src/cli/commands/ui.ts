/**
 * `hearsay ui`: the URL of the agent's web view (http://HOST:PORT/ui), after checking that an agent
 * answers there; with --open, also hands it to a browser: $BROWSER if set, else the system's
 * opener (xdg-open, open, or start on Windows). No opener is not an error: the URL is printed.
 */
import { spawn } from 'node:child_process';
import { formatHostPort, isUnspecifiedHost } from '../../transport/address.js';
import type { Address } from '../../wire/messages.js';
import { clientCommand } from '../client-command.js';
import { AgentApiError } from '../http-client.js';

/** The view's URL for an API address (an unspecified host, 0.0.0.0 or ::, is reached on loopback). */
export function uiUrl(address: Address): string {
  const host = isUnspecifiedHost(address.host) ? (address.host.includes(':') ? '::1' : '127.0.0.1') : address.host;
  return `http://${formatHostPort({ host, port: address.port })}/ui`;
}

/** The command that opens a URL here: $BROWSER, else the platform's opener. */
export function opener(env: Readonly<Record<string, string | undefined>> = process.env, platform: NodeJS.Platform = process.platform): { command: string; args: string[] } {
  const browser = env['BROWSER'];
  if (browser !== undefined && browser.trim() !== '') return { command: browser.trim(), args: [] };
  if (platform === 'darwin') return { command: 'open', args: [] };
  if (platform === 'win32') return { command: 'cmd', args: ['/c', 'start', '""'] };
  return { command: 'xdg-open', args: [] };
}

/** Starts the opener on `url`, detached; resolves with the problem when it could not be started. */
function open(url: string): Promise<string | undefined> {
  const { command, args } = opener();
  return new Promise((resolve) => {
    try {
      const child = spawn(command, [...args, url], { detached: true, stdio: 'ignore' });
      child.once('error', (err: NodeJS.ErrnoException) =>
        resolve(err.code === 'ENOENT' ? `no browser opener found (${command}): open the URL yourself, or set $BROWSER` : `${command} failed: ${err.message}`),
      );
      child.once('spawn', () => {
        child.unref();
        resolve(undefined);
      });
    } catch (err) {
      resolve(`${command} failed: ${(err as Error).message}`);
    }
  });
}

export const command = clientCommand({
  name: 'ui',
  summary: "print (or --open) the URL of a running agent's web view",
  details:
    'The view is served by the agent itself at /ui on its HTTP port. An agent started with --http-token asks for the token in the page (once per tab). ' +
    'Exit code 1 if no agent answers at the --http address.',
  flags: {
    open: { type: 'boolean', description: 'also open it in a browser ($BROWSER, else xdg-open / open / start)' },
  },
  async run(client, values, _args, io) {
    const url = uiUrl(client.address);
    let agent: string | undefined;
    try {
      const self = (await client.call('GET', '/v1/agent/self')) as { Hearsay?: { name?: unknown } };
      agent = typeof self.Hearsay?.name === 'string' ? self.Hearsay.name : undefined;
    } catch (err) {
      // A token-protected agent (without $HEARSAY_HTTP_TOKEN here) still serves the page, which asks for it.
      if (!(err instanceof AgentApiError && err.status === 401)) throw err;
    }
    if (values.open) {
      const problem = await open(url);
      if (problem !== undefined) io.stderr.write(`hearsay ui: ${problem}\n`);
    }
    return { json: { url, ...(agent === undefined ? {} : { agent }) }, text: `${url}\n` };
  },
});
