// The bare Node process floor for bench/light.ts: a Node 20 process holding one UDP socket and one
// TCP listener on 127.0.0.1 and nothing else, spawned the same way as an agent (node SCRIPT). It
// prints one ready line, `floor listening on udp PORT tcp PORT`, and answers every TCP connection
// with "ok\n", so that spawn -> answer is timed the same way as an agent's API. It runs until killed.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const udp = createSocket('udp4');
udp.on('message', () => undefined);
udp.bind(0, '127.0.0.1', () => {
  const tcp = createServer((socket) => socket.end('ok\n'));
  tcp.listen(0, '127.0.0.1', () => {
    process.stdout.write(`floor listening on udp ${udp.address().port} tcp ${tcp.address().port}\n`);
  });
});
