/**
 * How fast a revocation list spreads (issue 14, point 3): `npm run bench:revocations -- [--json]
 * [--n 10,30] [--runs 3]`.
 *
 * N agents in this process on 127.0.0.1 (the `local` profile), each with a certificate; once all
 * are alive everywhere, a list revoking one of them is put into one other node
 * (agent.putRevocations). Measured from that call: until every other node holds the list
 * (`adoptedAllMs`) and until every one of them has the revoked node dead (`deadEverywhereMs`), and
 * how the fetches fell: the most any one node served (`maxServed`), what the node it was put into
 * served (`firstHolderServed`), fetches that failed or were dropped, and those a holder turned away
as busy (it serves 8 lists a second at most). The bound it is held to
 * (ARCHITECTURE.md, The protocol, Revocation) is D(N) + J + one fetch, J = 500 ms.
 *
 * One JSON line per run with --json; run it under `flock /tmp/hearsay-heavy.lock` (shared machine).
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createAgent } from '../src/agent/agent.js';
import type { Agent } from '../src/agent/types.js';
import { checkIdentity, type NodeIdentity } from '../src/identity/identity.js';
import { signRevocations } from '../src/identity/revocations.js';
import { caUri, nodeUri, serviceUri } from '../src/identity/spiffe.js';
import { freshSerial, generateEd25519, makeCertificate } from '../src/identity/x509.js';
import { X509Certificate } from 'node:crypto';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    n: { type: 'string', default: '10,30' },
    runs: { type: 'string', default: '3' },
  },
});
const SIZES = String(values.n).split(',').map(Number);
const RUNS = Number(values.runs);
const DAY = 86_400_000;

function out(record: Record<string, unknown>): void {
  const line = { bench: 'revocations', ...record, load: loadavg().map((l) => Math.round(l * 100) / 100) };
  if (values.json) console.log(JSON.stringify(line));
  else console.log(Object.entries(line).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('/') : String(v)}`).join(' '));
}

const now = Date.now();
const caKeys = generateEd25519();
const TD = 'bench.example';
const caCert = new X509Certificate(
  makeCertificate({ serial: freshSerial(), subjectCommonName: 'CA', issuerCommonName: 'CA', notBeforeMs: now - DAY, notAfterMs: now + DAY, publicKey: caKeys.publicKey, issuerPublicKey: caKeys.publicKey, issuerPrivateKey: caKeys.privateKey, ca: true, uris: [caUri(TD)] }),
);

function identityFor(node: string): NodeIdentity {
  const k = generateEd25519();
  const der = makeCertificate({ serial: freshSerial(), subjectCommonName: node, issuerCommonName: 'CA', notBeforeMs: now - 60_000, notAfterMs: now + DAY, publicKey: k.publicKey, issuerPublicKey: caKeys.publicKey, issuerPrivateKey: caKeys.privateKey, ca: false, uris: [nodeUri(TD, node), serviceUri(TD, 'billing')] });
  return checkIdentity({ ca: caCert, cert: new X509Certificate(der), key: k.privateKey }, node, Date.now());
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const t0 = performance.now();
  while (!check()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now();
}

async function run(n: number, runNo: number): Promise<void> {
  const ids = Array.from({ length: n }, (_, i) => identityFor(`rv-${runNo}-${i}`));
  const agents: Agent[] = ids.map((id) => createAgent({ identity: id, bind: { host: '127.0.0.1', port: 0 }, profile: 'local' }));
  try {
    await Promise.all(agents.map((a) => a.start()));
    const seed = agents[0] as Agent;
    for (const a of agents.slice(1)) await a.join([`${seed.address.host}:${seed.address.port}`]);
    await until(() => agents.every((a) => a.members().filter((m) => m.status === 'alive').length === n), 60_000, 'converged');
    const victim = agents[n - 1] as Agent;
    const first = agents[1] as Agent;
    const others = agents.slice(0, n - 1);
    const at = new Date().toISOString();
    const list = signRevocations({ issuer: caCert.fingerprint256, version: 1, issuedAt: at, revoked: [{ serial: (ids[n - 1] as NodeIdentity).serial, revokedAt: at }] }, caKeys.privateKey);
    const t0 = performance.now();
    first.putRevocations(list);
    const adopted = await until(() => others.every((a) => a.revocations?.version === 1), 60_000, 'every node adopted');
    const dead = await until(() => others.every((a) => a.members().find((m) => m.name === victim.name)?.status === 'dead'), 60_000, 'dead everywhere');
    const served = others.map((a) => a.counters()['identity.revocations.served'] ?? 0);
    const sum = (k: string): number => others.reduce((s, a) => s + (a.counters()[k] ?? 0), 0);
    out({
      n,
      run: runNo,
      adoptedAllMs: Math.round(adopted - t0),
      deadEverywhereMs: Math.round(dead - t0),
      fetches: sum('identity.revocations.fetches.adopted'),
      maxServed: Math.max(...served),
      firstHolderServed: first.counters()['identity.revocations.served'] ?? 0,
      fetchesFailed: sum('identity.revocations.fetches.failed') + sum('identity.revocations.fetches.dropped'),
      fetchesBusy: sum('identity.revocations.fetches.busy'),
    });
  } finally {
    await Promise.all(agents.map((a) => a.close()));
  }
}

for (const n of SIZES) for (let r = 1; r <= RUNS; r++) await run(n, r);
