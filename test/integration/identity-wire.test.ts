/**
 * Signed records between real `hearsay agent` processes (issue 14, point 7): three keyed agents
 * with certificates of one CA, and a forger (this test process) that holds the cluster key and a
 * certificate of its own, and sends crafted datagrams built with the project's own encoder and
 * envelope: an alive for another node's name at a higher incarnation and at 2^32-1, a dead and a
 * leave about another node. Every view stays as it was, and /metrics counts each drop by reason.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Ed25519Authenticator } from '../../src/identity/authenticator.js';
import { checkIdentity } from '../../src/identity/identity.js';
import { privateKeyPem } from '../../src/identity/x509.js';
import { Envelope } from '../../src/security/envelope.js';
import { generateKey, Keyring } from '../../src/security/keyring.js';
import { parseHostPort } from '../../src/transport/address.js';
import { encodeMessage, encodePacket, encodeSigned, MAX_INCARNATION } from '../../src/wire/codec.js';
import type { SignableMessage } from '../../src/wire/messages.js';
import { testCa, testNodeCert } from '../identity/support.js';
import { Agents, incarnationIn, lists, names, sleep, viewOf, waitUntil } from './support.js';

const agents = new Agents();
afterEach(() => agents.killAll());
afterAll(() => agents.dispose());

async function metric(http: string, series: string): Promise<number> {
  const text = await (await fetch(`http://${http}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

describe('signed records between agent processes', () => {
  it('a key holder with its own certificate cannot forge another node\'s alive, dead or leave', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-it-sign-'));
    const ca = testCa('it.example');
    writeFileSync(join(dir, 'ca.crt'), ca.pem);
    const key = generateKey();
    const argsFor = (node: string): string[] => {
      const c = testNodeCert(ca, { node, services: ['web'] });
      writeFileSync(join(dir, `${node}.crt`), c.pem);
      writeFileSync(join(dir, `${node}.key`), privateKeyPem(c.key));
      return ['--key', key, '--ca', join(dir, 'ca.crt'), '--cert', join(dir, `${node}.crt`), '--cert-key', join(dir, `${node}.key`)];
    };
    const a = await agents.start('sw-a', { dns: 'off', args: argsFor('sw-a') });
    const b = await agents.start('sw-b', { dns: 'off', join: [a.gossip], args: argsFor('sw-b') });
    const c = await agents.start('sw-c', { dns: 'off', join: [a.gossip], args: argsFor('sw-c') });
    const all = [a, b, c];
    await waitUntil('three agents see each other', all, lists(names(all), 'alive'), { timeoutMs: 30_000 });
    expect(await metric(a.http, 'hearsay_identity_records_verified_total')).toBeGreaterThan(0);

    // The forger: the cluster key, and a certificate of the same CA for a name of its own.
    const m = testNodeCert(ca, { node: 'mallory' });
    const mallory = new Ed25519Authenticator({ identity: checkIdentity({ ca: ca.cert, cert: m.cert, key: m.key }, 'mallory', Date.now()), ca: ca.cert });
    const envelope = new Envelope({ keyring: Keyring.fromBase64([key]), label: '' });
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const addrOf = (hostPort: string): { host: string; port: number } => {
      const p = parseHostPort(hostPort);
      if (!p.ok) throw new Error(`bad address ${hostPort}`);
      return p.address;
    };
    const send = async (to: string, part: Uint8Array): Promise<void> => {
      const addr = addrOf(to);
      const packet = envelope.seal(encodePacket([part]));
      await new Promise<void>((r, j) => sock.send(packet, addr.port, addr.host, (err) => (err ? j(err) : r())));
    };
    const signed = (msg: SignableMessage): Uint8Array => {
      const bytes = encodeMessage(msg);
      return encodeSigned(mallory.fingerprint, mallory.sign(bytes), bytes);
    };
    const bAddr = addrOf(b.gossip);
    const incB = await incarnationIn(a, 'sw-b');
    const incC = await incarnationIn(a, 'sw-c');
    const forgeries: SignableMessage[] = [
      { type: 'alive', node: 'sw-b', addr: { host: bAddr.host, port: bAddr.port }, incarnation: incB + 1, state: { payload: null } },
      { type: 'alive', node: 'sw-b', addr: { host: bAddr.host, port: bAddr.port }, incarnation: MAX_INCARNATION, state: { payload: null } },
      { type: 'dead', node: 'sw-c', incarnation: incC, from: 'sw-b' },
      { type: 'dead', node: 'sw-c', incarnation: MAX_INCARNATION, from: 'sw-c' },
    ];
    for (const f of forgeries) {
      await send(a.gossip, encodeMessage(f)); // unsigned
      await send(a.gossip, signed(f)); // signed by mallory, claiming another author
    }
    // mallory's certificate, once a receiver holds it, makes its signatures a name mismatch.
    await send(a.gossip, encodeMessage({ type: 'cert', certificate: mallory.certificate }));
    await sleep(300);
    for (const f of forgeries) await send(a.gossip, signed(f));
    await sleep(3000);
    for (const agent of all) {
      const view = await viewOf(agent);
      expect(view?.get('sw-b')?.status).toBe('alive');
      expect(view?.get('sw-c')?.status).toBe('alive');
      expect(view?.get('sw-b')?.incarnation).toBeLessThan(MAX_INCARNATION);
    }
    expect(await incarnationIn(a, 'sw-b')).toBe(incB);
    expect(await metric(a.http, 'hearsay_identity_dropped_total{reason="identity-unsigned"}')).toBe(forgeries.length);
    expect(await metric(a.http, 'hearsay_identity_dropped_total{reason="unknown-cert"}')).toBeGreaterThanOrEqual(forgeries.length);
    expect(await metric(a.http, 'hearsay_identity_dropped_total{reason="cert-name-mismatch"}')).toBe(forgeries.length);
    sock.close();
  });
});
