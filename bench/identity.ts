/**
 * What signed records cost (issue 14, point 6): `npm run bench:identity -- [--json] [--n 1000]
 * [--runs 5] [--join-ms 20000] [--steady-ms 60000]`.
 *
 * 1. Bytes added per message kind, from the project's own encoder: each kind plain and signed,
 *    a state entry, a certificate, a push-pull record.
 * 2. CPU per operation with real Ed25519 (node:crypto): sign, verify (a cache miss), a cached
 *    verification (the copies of one record from several relays), a peer certificate checked and
 *    cached. Medians over --runs runs.
 * 3. Verifications per second per node at N (default 1,000), during a mass join and in steady
 *    state, in the simulator: every node runs the real core with identity enforced, through an
 *    authenticator that counts what it verifies (Ed25519 misses and cache hits, with the same cache
 *    semantics as the real one) instead of running Ed25519 10^6 times; the CPU share is those
 *    counts times the measured CPU of each. The largest datagram any node sent is checked against
 *    the packet budget.
 *
 * One JSON line per figure with --json; every wall-time figure is run under
 * `flock /tmp/hearsay-heavy.lock` by whoever runs it (the machine is shared).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Ed25519Authenticator, fingerprintPrefix } from '../src/identity/authenticator.js';
import { checkIdentity } from '../src/identity/identity.js';
import { encodeAnnouncement, REVOCATIONS_KEY } from '../src/identity/revocation-spread.js';
import { caUri, nodeUri, serviceUri } from '../src/identity/spiffe.js';
import { freshSerial, generateEd25519, makeCertificate } from '../src/identity/x509.js';
import type { CertOutcome, RecordAuthenticator, VerifyOutcome } from '../src/membership/authenticator.js';
import { Membership } from '../src/membership/membership.js';
import type { Effect } from '../src/membership/types.js';
import { World, type SimMember, type SimMemberConfig } from '../src/sim/index.js';
import { encodeMessage, encodePushPullPacket, encodeSigned, encodeStateDeltaMessage } from '../src/wire/codec.js';
import type { MemberRecord, SignableMessage } from '../src/wire/messages.js';
import { encodeDelta, entrySigningBytes } from '../src/wire/state-codec.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    n: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '5' },
    'join-ms': { type: 'string', default: '20000' },
    'steady-ms': { type: 'string', default: '60000' },
    seed: { type: 'string', default: '1' },
  },
});
const N = Number(values.n);
const RUNS = Number(values.runs);
const JOIN_MS = Number(values['join-ms']);
const STEADY_MS = Number(values['steady-ms']);
const DAY = 86_400_000;

function out(record: Record<string, unknown>): void {
  const line = { bench: 'identity', ...record, load: loadavg().map((l) => Math.round(l * 100) / 100) };
  if (values.json) console.log(JSON.stringify(line));
  else console.log(Object.entries(line).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('/') : String(v)}`).join(' '));
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

// ------------------------------------------------------------------ certificates

const caKeys = generateEd25519();
const TD = 'bench.example';
const now = Date.now();
const ca = new X509Certificate(
  makeCertificate({ serial: freshSerial(), subjectCommonName: 'CA', issuerCommonName: 'CA', notBeforeMs: now - DAY, notAfterMs: now + 365 * DAY, publicKey: caKeys.publicKey, issuerPublicKey: caKeys.publicKey, issuerPrivateKey: caKeys.privateKey, ca: true, uris: [caUri(TD)] }),
);
function nodeAuth(node: string): Ed25519Authenticator {
  const { publicKey, privateKey } = generateEd25519();
  const der = makeCertificate({ serial: freshSerial(), subjectCommonName: node, issuerCommonName: 'CA', notBeforeMs: now - 60_000, notAfterMs: now + 7 * DAY, publicKey, issuerPublicKey: caKeys.publicKey, issuerPrivateKey: caKeys.privateKey, ca: false, uris: [nodeUri(TD, node), serviceUri(TD, 'billing'), serviceUri(TD, 'api-*')] });
  return new Ed25519Authenticator({ identity: checkIdentity({ ca, cert: new X509Certificate(der), key: privateKey }, node, now), ca });
}

// ------------------------------------------------------------------ 1. bytes

const a = nodeAuth('web-0001');
const b = nodeAuth('web-0002');
const signed = (auth: Ed25519Authenticator, m: SignableMessage): Uint8Array => {
  const bytes = encodeMessage(m);
  return encodeSigned(auth.fingerprint, auth.sign(bytes), bytes);
};
const addr = { host: '10.1.2.3', port: 7946 };
const alive: SignableMessage = { type: 'alive', node: 'web-0001', addr, incarnation: 12, state: { payload: null } };
const kinds: [string, SignableMessage, Ed25519Authenticator][] = [
  ['alive', alive, a],
  ['suspect', { type: 'suspect', node: 'web-0001', incarnation: 12, from: 'web-0002' }, b],
  ['dead', { type: 'dead', node: 'web-0001', incarnation: 12, from: 'web-0002' }, b],
  ['leave', { type: 'dead', node: 'web-0001', incarnation: 12, from: 'web-0001' }, a],
];
for (const [kind, m, auth] of kinds) {
  const plain = encodeMessage(m).length;
  const s = signed(auth, m).length;
  out({ figure: 'bytes', kind, plain, signed: s, added: s - plain });
}
{
  const value = new Uint8Array(64).fill(1); // an instance entry is about 60-70 bytes
  const e = { key: 'i:billing-1', value, version: 7, deleted: false };
  const sig = new Uint8Array(72);
  sig.set(a.fingerprint, 0);
  sig.set(a.sign(entrySigningBytes('web-0001', 1, e)), 8);
  const d = { node: 'web-0001', generation: 1, fromVersion: 6, toVersion: 7, reset: false, collectedVersion: 0 };
  const plain = encodeStateDeltaMessage([encodeDelta({ ...d, entries: [e] })]).length;
  const s = encodeStateDeltaMessage([encodeDelta({ ...d, entries: [{ ...e, signature: sig }] })]).length;
  out({ figure: 'bytes', kind: 'state-delta (one instance entry)', plain, signed: s, added: s - plain });
  out({ figure: 'bytes', kind: 'cert (once per certificate and peer, or on request)', plain: 0, signed: encodeMessage({ type: 'cert', certificate: a.certificate }).length, added: encodeMessage({ type: 'cert', certificate: a.certificate }).length });
  out({ figure: 'bytes', kind: 'cert-request', plain: 0, signed: encodeMessage({ type: 'cert-request', fingerprint: a.fingerprint }).length, added: encodeMessage({ type: 'cert-request', fingerprint: a.fingerprint }).length });
  const rec: MemberRecord = { node: 'web-0001', addr, incarnation: 12, status: 'alive', state: alive.state };
  const one = encodePushPullPacket({ type: 'push-pull', join: false, reply: false, source: 'web-0002', members: [rec, rec] }).length - encodePushPullPacket({ type: 'push-pull', join: false, reply: false, source: 'web-0002', members: [rec] }).length;
  out({ figure: 'bytes', kind: 'push-pull record (its signed alive beside it)', plain: one, signed: one + signed(a, alive).length, added: signed(a, alive).length });
}

// ------------------------------------------------------------------ 2. CPU per operation

function timeOp(label: string, iterations: number, fn: (i: number) => void): number {
  const perRun: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) fn(i);
    perRun.push(((performance.now() - t0) * 1000) / iterations);
  }
  const us = median(perRun);
  out({ figure: 'cpu', op: label, usPerOp: Math.round(us * 100) / 100, runs: RUNS, iterations });
  return us;
}
const msgs = Array.from({ length: 512 }, (_, i) => encodeMessage({ ...alive, incarnation: i } as SignableMessage));
const sigs = msgs.map((m) => a.sign(m));
timeOp('sign', 2000, (i) => a.sign(msgs[i % 512] as Uint8Array));
// Verifications that miss the cache: a fresh verifier per run would re-parse certificates; instead
// each iteration verifies a record never verified by this authenticator (distinct incarnations).
const verifier = nodeAuth('web-0003');
verifier.addCertificate(a.certificate);
const fresh = Array.from({ length: 2000 * RUNS }, (_, i) => encodeMessage({ ...alive, incarnation: 10_000 + i } as SignableMessage));
const freshSigs = fresh.map((m) => a.sign(m));
let k = 0;
const verifyUs = timeOp('verify (cache miss: Ed25519)', 2000, () => {
  const j = k++;
  const r = verifier.verify('web-0001', a.fingerprint, freshSigs[j] as Uint8Array, fresh[j] as Uint8Array);
  if (r !== 'ok') throw new Error(r);
});
for (let i = 0; i < 512; i++) verifier.verify('web-0001', a.fingerprint, sigs[i] as Uint8Array, msgs[i] as Uint8Array);
const hitUs = timeOp('verify (cache hit)', 20_000, (i) => {
  const r = verifier.verify('web-0001', a.fingerprint, sigs[i % 512] as Uint8Array, msgs[i % 512] as Uint8Array);
  if (r !== 'ok') throw new Error(r);
});
// Distinct certificates, so that every one is checked (not found cached).
const peers = Array.from({ length: 200 * RUNS }, (_, i) => nodeAuth(`peer-${i}`).certificate);
const checker = nodeAuth('web-cert-check');
let p = 0;
timeOp('certificate checked and cached (X.509 parse, CA signature, validity, URIs)', 200, () => {
  if (checker.addCertificate(peers[p++] as Uint8Array) !== 'new') throw new Error('not checked');
});

// ------------------------------------------------------------------ 3. the mesh at N

/**
 * A RecordAuthenticator with the real one's logic and cache but no Ed25519: a signature is a keyed
 * FNV digest of the bytes (so distinct records have distinct signatures), a certificate the node's
 * name padded to a real certificate's size. It counts cache misses (what Ed25519 would verify) and
 * hits.
 */
const CERT_BYTES = a.certificate.length;
class CountingAuthenticator implements RecordAuthenticator {
  readonly fingerprint: Uint8Array;
  readonly certificate: Uint8Array;
  misses = 0;
  hits = 0;
  signatures = 0;
  private readonly certs = new Map<string, { node: string; der: Uint8Array }>();
  private readonly verified = new Map<string, Uint8Array>();
  constructor(private readonly node: string) {
    this.certificate = new Uint8Array(CERT_BYTES);
    this.certificate.set(new TextEncoder().encode(node));
    this.fingerprint = fingerprintPrefix(this.certificate);
    this.certs.set(Buffer.from(this.fingerprint).toString('hex'), { node, der: this.certificate });
  }
  private static digest(node: string, bytes: Uint8Array): Uint8Array {
    return new Uint8Array(createHash('sha512').update(node).update(bytes).digest());
  }
  sign(bytes: Uint8Array): Uint8Array {
    this.signatures++;
    return CountingAuthenticator.digest(this.node, bytes);
  }
  verify(author: string, fingerprint: Uint8Array, signature: Uint8Array, bytes: Uint8Array): VerifyOutcome {
    const cert = this.certs.get(Buffer.from(fingerprint).toString('hex'));
    if (cert === undefined) return 'unknown-cert';
    if (cert.node !== author) return 'cert-name-mismatch';
    const key = Buffer.from(signature).toString('base64');
    const hit = this.verified.get(key);
    if (hit !== undefined && Buffer.compare(hit, bytes) === 0) {
      this.hits++;
      return 'ok';
    }
    this.misses++;
    if (Buffer.compare(CountingAuthenticator.digest(author, bytes), signature) !== 0) return 'bad-signature';
    if (this.verified.size >= 65_536) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(key, bytes.slice());
    return 'ok';
  }
  verifyEntry(owner: string, fingerprint: Uint8Array, signature: Uint8Array, bytes: Uint8Array): VerifyOutcome {
    return this.verify(owner, fingerprint, signature, bytes);
  }
  certificateOf(fingerprint: Uint8Array): Uint8Array | undefined {
    return this.certs.get(Buffer.from(fingerprint).toString('hex'))?.der;
  }
  addCertificate(der: Uint8Array): CertOutcome {
    const fp = Buffer.from(fingerprintPrefix(der)).toString('hex');
    if (this.certs.has(fp)) return 'known';
    const end = der.indexOf(0);
    this.certs.set(fp, { node: new TextDecoder().decode(der.subarray(0, end < 0 ? der.length : end)), der: der.slice() });
    return 'new';
  }
  certificates(): Uint8Array[] {
    return [...this.certs.values()].map((c) => c.der);
  }
}

const auths: CountingAuthenticator[] = [];
const announcement = encodeAnnouncement(0, ca.fingerprint256);
let maxDatagram = 0;
const watch = (effects: Effect[]): Effect[] => {
  for (const e of effects) if (e.type === 'send' && e.channel === 'datagram' && e.packet.length > maxDatagram) maxDatagram = e.packet.length;
  return effects;
};
/** The real core, its sends watched for the largest datagram. */
function member(config: SimMemberConfig): SimMember {
  const auth = new CountingAuthenticator(config.name);
  auths.push(auth);
  // As an agent with identity does, every node starts with its revocation list's announcement
  // entry (list version 0: none adopted yet), signed like its `t:` and `g:`.
  const stateLayer = { ...config.stateLayer, entries: [...(config.stateLayer?.entries ?? []), { key: REVOCATIONS_KEY, value: announcement }] };
  const m = new Membership({ ...config, stateLayer, identity: { authenticator: auth, transition: 'off' } });
  return {
    get name() {
      return m.name;
    },
    get addr() {
      return m.addr;
    },
    get incarnation() {
      return m.incarnation;
    },
    get left() {
      return m.left;
    },
    get counters() {
      return m.counters;
    },
    start: (t) => watch(m.start(t)),
    join: (s, t) => watch(m.join(s, t)),
    handlePacket: (f, pk, c, t) => watch(m.handlePacket(f, pk, c, t)),
    handleTimer: (tm, t) => watch(m.handleTimer(tm, t)),
    handleStreamRefused: (to, t) => watch(m.handleStreamRefused(to, t)),
    leave: (t) => watch(m.leave(t)),
    setLocalState: (s, t) => watch(m.setLocalState(s, t)),
    changeState: (c, t) => watch(m.changeState(c, t)),
    restore: (r, t) => m.restore(r, t),
    members: () => m.members(),
    member: (n) => m.member(n),
    statusOf: (n) => m.statusOf(n),
  };
}

const world = new World({ seed: Number(values.seed), profile: 'lan', factory: member, state: { tags: { role: 'web', zone: 'eu-1a' }, payload: null } });
const names = world.addNodes(N);
world.start(names[0] as string);
const totals = (): { misses: number; hits: number } => auths.reduce((s, x) => ({ misses: s.misses + x.misses, hits: s.hits + x.hits }), { misses: 0, hits: 0 });
const wall0 = performance.now();
// joinAll's stagger is the window every join falls in (not the spacing between two): N joins
// spread over join-ms, as the mass-join figure says.
world.joinAll({ staggerMs: JOIN_MS });
world.runFor(JOIN_MS + 10_000);
const afterJoin = totals();
const converged = world.isConverged();
const joinSeconds = (JOIN_MS + 10_000) / 1000;
const report = (phase: string, c: { misses: number; hits: number }, seconds: number): void => {
  const missPerNodeS = c.misses / N / seconds;
  const hitPerNodeS = c.hits / N / seconds;
  const corePct = ((missPerNodeS * verifyUs + hitPerNodeS * hitUs) / 1e6) * 100;
  out({ figure: 'mesh', phase, n: N, simSeconds: seconds, ed25519PerNodePerS: Math.round(missPerNodeS * 100) / 100, cacheHitsPerNodePerS: Math.round(hitPerNodeS * 100) / 100, cpuPctOfOneCore: Math.round(corePct * 1000) / 1000, targetPct: 2, converged: world.isConverged() });
};
report('mass join (all N joined within join-ms, then 10 s)', afterJoin, joinSeconds);
world.runFor(STEADY_MS);
const steady = totals();
report('steady state', { misses: steady.misses - afterJoin.misses, hits: steady.hits - afterJoin.hits }, STEADY_MS / 1000);
const dropped = world.membershipCounters();
out({ figure: 'budget', maxDatagramBytes: maxDatagram, maxPacketBytes: 1400, within: maxDatagram <= 1400, convergedAfterJoin: converged, simWallSeconds: Math.round((performance.now() - wall0) / 100) / 10, droppedTooLarge: dropped['dropped.too-large'] ?? 0, stateGapsPerNode: Math.round(((dropped.stateGaps ?? 0) / N) * 10) / 10, stateRequestsPerNode: Math.round(((dropped.stateRequestsSent ?? 0) / N) * 10) / 10 });
