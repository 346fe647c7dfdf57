/**
 * `hearsay join ADDR...`: asks a running agent (POST /v1/join) to join the mesh through the given
 * seeds, and reports through how many it joined.
 */
import { DEFAULT_PORT } from '../../agent/defaults.js';
import { parseSeed } from '../../agent/seeds.js';
import { formatHostPort } from '../../transport/address.js';
import { clientCommand } from '../client-command.js';

/** Joining retries each seed with backoff, so the answer may take a while. */
const JOIN_TIMEOUT_MS = 120_000;

export const command = clientCommand({
  name: 'join',
  summary: 'make a running agent join the mesh through one or more HOST:PORT seeds',
  details: `A seed without a port uses ${DEFAULT_PORT}. Exit code 1 if no seed answered or no agent answers at the --http address.`,
  flags: {},
  args: {
    placeholder: 'ADDR...',
    description: 'gossip addresses of agents already in the mesh: HOST:PORT, [IPv6]:PORT, a name (all its A/AAAA records) or dns+srv:NAME',
    min: 1,
    check: (value) => {
      const parsed = parseSeed(value);
      return parsed.ok ? undefined : parsed.problem;
    },
  },
  async run(client, _values, args) {
    // Written out with their ports; names and dns+srv: seeds are resolved by the agent.
    const addrs = args.map((a) => {
      const parsed = parseSeed(a);
      return parsed.ok && parsed.seed.kind === 'host' ? formatHostPort(parsed.seed.address) : a;
    });
    const answer = (await client.call('POST', '/v1/join', { body: { addrs }, timeoutMs: JOIN_TIMEOUT_MS })) as { joined?: unknown };
    const joined = typeof answer.joined === 'number' ? answer.joined : 0;
    return { json: answer, text: `joined through ${joined} of ${addrs.length} seed${addrs.length === 1 ? '' : 's'}\n` };
  },
});
