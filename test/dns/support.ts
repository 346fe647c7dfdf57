/** DNS test helpers shared by the DNS, security and metrics suites. */
import { createSocket } from 'node:dgram';
import type { Address } from '../../src/wire/messages.js';

/** Sends `query` over UDP to `to` (on 127.0.0.1) and resolves with the first answer. */
export function udpExchange(to: Address | number, query: Buffer, timeoutMs = 3000): Promise<Buffer> {
  const port = typeof to === 'number' ? to : to.port;
  const host = typeof to === 'number' ? '127.0.0.1' : to.host;
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error('no DNS answer over UDP'));
    }, timeoutMs);
    s.once('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.send(query, port, host);
  });
}
