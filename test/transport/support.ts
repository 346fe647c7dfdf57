import { createServer } from 'node:net';
import { pino } from 'pino';
import { freeLoopbackPort } from '../../src/cluster/ports.js';

export const silent = pino({ level: 'silent' });

/** Whether this machine can listen on the IPv6 loopback (::1). */
export async function hasIPv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '::1', port: 0 }, () => s.close(() => resolve(true)));
  });
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export const closedPort = freeLoopbackPort;

/** Polls `check` every `intervalMs` until it holds or `timeoutMs` passed; bounded, never hangs. */
export async function waitFor(
  what: string,
  check: () => boolean,
  timeoutMs = 10_000,
  intervalMs = 50,
  detail: () => string = () => '',
): Promise<void> {
  const rounds = Math.ceil(timeoutMs / intervalMs);
  for (let i = 0; i < rounds; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  if (!check()) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}${detail() === '' ? '' : `; ${detail()}`}`);
}
