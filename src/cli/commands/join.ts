/**
 * `hearsay join ADDR...`: asks a running agent (POST /v1/join) to join the mesh through the given
 * seeds, and reports through how many it joined.
 */
import { DEFAULT_PORT } from '../../agent/defaults.js';
import { formatHostPort, parseHostPort } from '../../transport/address.js';
import { callAgent, httpFlag, reportClientError, resolveHttpAddress } from '../http-client.js';
import type { Command } from '../main.js';

const flags = {
  http: httpFlag,
} as const;

/** Joining retries each seed with backoff, so the answer may take a while. */
const JOIN_TIMEOUT_MS = 120_000;

export const command: Command<typeof flags> = {
  name: 'join',
  summary: 'make a running agent join the mesh through one or more HOST:PORT seeds',
  details: `A seed without a port uses ${DEFAULT_PORT}. Exit code 1 if no seed answered or no agent answers at the --http address.`,
  flags,
  args: {
    placeholder: 'ADDR...',
    description: 'gossip addresses (HOST:PORT, [IPv6]:PORT) of agents already in the mesh',
    min: 1,
    check: (value) => {
      const parsed = parseHostPort(value, { defaultPort: DEFAULT_PORT });
      return parsed.ok ? undefined : parsed.problem;
    },
  },
  async run(values, io, args) {
    const address = resolveHttpAddress(values.http);
    const addrs = args.map((a) => {
      const parsed = parseHostPort(a, { defaultPort: DEFAULT_PORT });
      return parsed.ok ? formatHostPort(parsed.address) : a;
    });
    try {
      const answer = (await callAgent(address, 'POST', '/v1/join', { body: { addrs }, timeoutMs: JOIN_TIMEOUT_MS })) as { joined?: unknown };
      const joined = typeof answer.joined === 'number' ? answer.joined : 0;
      io.stdout.write(`joined through ${joined} of ${addrs.length} seed${addrs.length === 1 ? '' : 's'}\n`);
      return 0;
    } catch (err) {
      return reportClientError('join', err, io);
    }
  },
};
