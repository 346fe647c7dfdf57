/**
 * A consumer of the installed package, as a user writes one: .ci/pack-check copies it into a
 * scratch project that installed the packed tarball, typechecks it under `strict` against the
 * package's own declarations (skipLibCheck off), then runs it. In this repository tsconfig.json
 * maps 'hearsay' to src/, so `npm run typecheck` keeps it honest too.
 */
import {
  AGENT_DEFAULTS,
  HearsayError,
  JoinError,
  PROFILES,
  createAgent,
  createDnsServer,
  formatHostPort,
  parseHostPort,
  type Agent,
  type AgentEvent,
  type AgentOptions,
  type DnsServer,
  type MemberInfo,
  type ServiceInstance,
} from 'hearsay';
import { createServer } from 'node:net';

/** A TCP port nobody listens on (bound, then released): a seed that cannot answer. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const parsed = parseHostPort('127.0.0.1:0', { allowPortZero: true });
if (!parsed.ok) throw new Error(parsed.problem);
const options: AgentOptions = { name: 'consumer', bind: parsed.address, profile: 'local', tags: { role: 'ci' } };
const agent: Agent = createAgent(options);
const events: AgentEvent['type'][] = [];
agent.on('event', (e: AgentEvent) => events.push(e.type));
await agent.start();
let dns: DnsServer | undefined;
try {
  const instance: ServiceInstance = agent.register({ name: 'web', port: 8080, tags: ['v1'], checks: [{ ttl: '10s', status: 'passing' }] });
  const found: readonly ServiceInstance[] = agent.lookup('web');
  if (found.length !== 1 || found[0]?.id !== instance.id) throw new Error(`lookup gave ${JSON.stringify(found)}`);
  const self: MemberInfo | undefined = agent.members().find((m) => m.name === 'consumer');
  if (self?.status !== 'alive') throw new Error(`members gave ${JSON.stringify(agent.members())}`);

  dns = createDnsServer(agent, { ttlSeconds: 0 });
  const dnsAddress = await dns.listen({ host: '127.0.0.1', port: 0 });

  const seed = `127.0.0.1:${await closedPort()}`;
  try {
    await agent.join([seed], { attempts: 1, timeoutMs: 2000 });
    throw new Error('a join through a closed port succeeded');
  } catch (err) {
    if (!(err instanceof JoinError) || !(err instanceof HearsayError)) throw err;
    if (err.failures[0]?.seed !== seed) throw new Error(`JoinError names ${JSON.stringify(err.failures)}`, { cause: err });
  }
  console.log(
    `consumer ok: ${agent.name} at ${formatHostPort(agent.address)}, ${found.length} instance of web, ` +
      `DNS on ${formatHostPort(dnsAddress)}, profiles ${Object.keys(PROFILES).join('/')}, default port ${AGENT_DEFAULTS.bind.port}, events ${events.length}`,
  );
} finally {
  await dns?.close();
  await agent.close();
}
