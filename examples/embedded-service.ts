/**
 * A Node HTTP service that embeds a hearsay agent: it registers itself as an instance of "greeter"
 * on start (with a TTL check it keeps passing while it is healthy), answers GET /hello itself, and
 * answers GET /relay by calling a healthy *other* greeter picked round-robin per request. On
 * SIGTERM or SIGINT it deregisters, leaves the mesh gracefully and exits.
 *
 *   npx tsx examples/embedded-service.ts                                              # first instance
 *   GOSSIP=127.0.0.1:7950 HTTP_PORT=8081 SEEDS=127.0.0.1:7946 npx tsx examples/embedded-service.ts
 *   curl 127.0.0.1:8080/relay                                                          # answered by 8081
 *
 * In this repository 'hearsay' is the source (tsconfig.json maps it to src/index.ts); in a project
 * that installed the package it is the package (run it there as node_modules/hearsay/examples/...).
 */
import { createServer, get } from 'node:http';
import { createAgent, parseHostPort } from 'hearsay';

const parsed = parseHostPort(process.env.GOSSIP ?? '127.0.0.1:7946', { allowPortZero: true });
if (!parsed.ok) throw new Error(`GOSSIP ${parsed.problem}`);
const gossip = parsed.address;
const seeds = (process.env.SEEDS ?? '').split(',').filter((s) => s !== '');
const httpPort = Number(process.env.HTTP_PORT ?? 8080);

const agent = createAgent({ bind: gossip, profile: 'lan' });
await agent.start();
if (seeds.length > 0) await agent.join(seeds); // rejects with a JoinError listing each seed's failure

const me = agent.register({ name: 'greeter', port: httpPort, address: '127.0.0.1', tags: ['v1'], checks: [{ ttl: '10s' }] });
const heartbeat = setInterval(() => agent.updateCheck(`service:${me.id}`, 'passing', 'event loop alive'), 3000);
agent.updateCheck(`service:${me.id}`, 'passing');
agent.onServiceChange('greeter', (u) => console.log(`greeters: ${u.instances.map((i) => `${i.address}:${i.port}`).join(' ') || 'none'}`));

const server = createServer((req, res) => {
  if (req.url === '/hello') {
    res.end(`hello from ${agent.name}\n`);
    return;
  }
  if (req.url === '/relay') {
    // A healthy greeter on another node, round-robin; lookups are local, so this costs microseconds.
    let target = agent.pick('greeter', { tags: ['v1'] });
    if (target?.id === me.id) target = agent.pick('greeter', { tags: ['v1'] }); // round-robin: the next one
    if (target === undefined || target.id === me.id) {
      res.writeHead(503).end('no other healthy greeter\n');
      return;
    }
    get({ host: target.address, port: target.port, path: '/hello' }, (up) => up.pipe(res)).on('error', () => res.writeHead(502).end());
    return;
  }
  res.writeHead(404).end();
});
server.listen(httpPort, '127.0.0.1', () => console.log(`${agent.name} serving greeter on 127.0.0.1:${httpPort}`));

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    clearInterval(heartbeat);
    server.close();
    agent.deregister(me.id);
    // Spreads the deregistration and `left` (never mistaken for a crash), then closes.
    void agent.leave({ timeoutMs: 3000 }).then(() => process.exit(0));
  });
}
