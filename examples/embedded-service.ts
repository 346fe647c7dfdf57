/**
 * A Node HTTP service that embeds a hearsay agent: it joins the mesh on start, answers
 * GET /peers with the members it knows alive, and leaves gracefully on SIGTERM or SIGINT.
 *
 *   npx tsx examples/embedded-service.ts                          # first instance
 *   GOSSIP=127.0.0.1:7950 HTTP_PORT=8081 SEEDS=127.0.0.1:7946 npx tsx examples/embedded-service.ts
 *
 * In an installed project, import from 'hearsay' instead of '../src/index.js'.
 */
import { createServer } from 'node:http';
import { createAgent, parseHostPort } from '../src/index.js';

const gossip = parseHostPort(process.env.GOSSIP ?? '127.0.0.1:7946');
const seeds = (process.env.SEEDS ?? '').split(',').filter((s) => s !== '');
const httpPort = Number(process.env.HTTP_PORT ?? 8080);

const agent = createAgent({ bind: gossip, profile: 'lan', tags: { role: 'web', http: String(httpPort) } });
await agent.start();
if (seeds.length > 0) {
  const joined = await agent.join(seeds); // rejects with a JoinError listing each seed's failure
  console.log(`joined through ${joined} of ${seeds.length} seeds`);
}
agent.on('event', (e) => {
  if ('member' in e) console.log(`${e.type}: ${e.member.name}`);
});

const server = createServer((req, res) => {
  if (req.url === '/peers') {
    const peers = agent.members().filter((m) => m.status === 'alive' && m.name !== agent.name);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(peers.map((m) => ({ name: m.name, http: `${m.addr}:${m.tags.http ?? '?'}` }))));
    return;
  }
  res.writeHead(404).end();
});
server.listen(httpPort, '127.0.0.1', () => console.log(`${agent.name} serving on 127.0.0.1:${httpPort}`));

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close();
    // Spreads `left` (never mistaken for a crash) and waits for it to go out, then closes.
    void agent.leave({ timeoutMs: 3000 }).then(() => process.exit(0));
  });
}
