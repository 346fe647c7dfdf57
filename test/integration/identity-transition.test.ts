/**
 * Identity rolled out in a running mesh of real `hearsay agent` processes (issue 14, points 4 and
 * 7), as SECURITY.md's "Turning identity on" tells an operator to: four keyed agents without
 * identity, each with a service registered and saved in its data dir; then each restarted in turn
 * (SIGTERM, the same gossip port and data dir) with its certificate and `--identity-transition
 * send-unsigned`, then each with `accept-unsigned`, then each without the flag (signatures
 * required). After every restart every agent lists all four alive and every agent answers every
 * service's lookup, and a monitor polling every view throughout sees no member but the one being
 * restarted leave or die (no partition, no flapping). The certificates come from `hearsay ca
 * init/issue/revoke` run as the CLI.
 *
 * At the end a forger (this test process: the cluster key, a certificate of the mesh's CA for a
 * name of its own, and the keys of a revoked and an expired certificate) sends crafted datagrams to
 * one agent: alive, suspect, dead and leave records about other nodes (unsigned, signed by it, at
 * 2^32-1), state entries for another owner's service, an entry a node signed for a service its
 * certificate does not allow, and the revoked and expired certificates with records they sign. No
 * view and no lookup changes, and /metrics counts each drop by reason.
 *
 * Along the way: at step 1 nothing is signed and unsigned records are taken (counted); the agents
 * at step 1 verify the first signer's records; hearsay_identity_unsigned_accepted_total goes flat
 * once every agent signs (SECURITY.md's signal that step 3 is safe); with signatures required
 * everywhere no agent drops a genuine record for any reason.
 *
 * A second test skips a step: an agent that requires signatures joins agents that still send
 * unsigned records, drops (and counts) what they say rather than taking it, lists none of them,
 * and warns naming the sender and the step to finish; restarted at step 2, the mesh is whole.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Ed25519Authenticator } from '../../src/identity/authenticator.js';
import { issueCertificate } from '../../src/identity/ca.js';
import { checkIdentity } from '../../src/identity/identity.js';
import type { IdentityDropReason } from '../../src/membership/authenticator.js';
import { instanceKey } from '../../src/registry/entries.js';
import { encodeInstanceEntry } from '../../src/registry/payload.js';
import { Envelope } from '../../src/security/envelope.js';
import { generateKey, Keyring } from '../../src/security/keyring.js';
import type { NodeDelta, StateEntry } from '../../src/state/types.js';
import { parseHostPort } from '../../src/transport/address.js';
import { encodeMessage, encodePacket, encodeSigned, encodeStateDeltaMessage, MAX_INCARNATION } from '../../src/wire/codec.js';
import type { SignableMessage } from '../../src/wire/messages.js';
import { encodeDelta, entrySigningBytes, ENTRY_SIGNATURE_BYTES } from '../../src/wire/state-codec.js';
import { Agents, describeViews, exitOf, runCli, signal, sleep, viewsOf, waitUntil, type AgentProcess, type MemberRow } from './support.js';

const agents = new Agents();
const dirs: string[] = [];
afterEach(async () => {
  await agents.killAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
afterAll(() => agents.dispose());

const TRUST_DOMAIN = 'roll.example';
const DAY = 86_400_000;

/** One Prometheus series' value on an agent's /metrics (NaN if absent). */
async function metric(a: AgentProcess, series: string): Promise<number> {
  const text = await (await fetch(`http://${a.http}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

const dropped = (a: AgentProcess, reason: IdentityDropReason): Promise<number> => metric(a, `hearsay_identity_dropped_total{reason="${reason}"}`);

async function cli(args: readonly string[]): Promise<string> {
  const r = await runCli(args, 60_000);
  if (r.code !== 0) throw new Error(`hearsay ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** A CA made by `hearsay ca init`, and `hearsay ca issue` certificates (NAME.crt, NAME.key in `certs`). */
async function makeCa(root: string, nodes: readonly { node: string; services: readonly string[] }[]): Promise<{ caDir: string; certs: string }> {
  const caDir = join(root, 'ca');
  const certs = join(root, 'certs');
  await cli(['ca', 'init', '--dir', caDir, '--trust-domain', TRUST_DOMAIN, '--ttl', '30d']);
  await Promise.all(nodes.map((n) => cli(['ca', 'issue', '--dir', caDir, '--node', n.node, ...(n.services.length === 0 ? [] : ['--services', n.services.join(',')]), '--ttl', '1d', '--out', certs])));
  return { caDir, certs };
}

/** Bounded poll of an async condition; throws with what it last saw. */
async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | Error | undefined;
  for (;;) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch (err) {
      last = err as Error;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}; last: ${last instanceof Error ? last.message : String(JSON.stringify(last, (_k, v: unknown) => (v instanceof Map ? [...v] : v)))}`);
    await sleep(250);
  }
}

interface Instance {
  readonly node: string;
  readonly name: string;
  readonly port: number;
}

const serviceOf = (node: string): string => `svc-${node}`;

async function register(a: AgentProcess, port: number): Promise<void> {
  const res = await fetch(`http://${a.http}/v1/services`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: serviceOf(a.name), port }),
    signal: AbortSignal.timeout(5000),
  });
  if (res.status !== 200) throw new Error(`registering ${serviceOf(a.name)} on ${a.name}: HTTP ${res.status} ${await res.text()}`);
}

/** Every agent's lookup of every node's service: "observer service" -> the nodes it answers with. */
async function lookups(observers: readonly AgentProcess[], nodes: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  await Promise.all(
    observers.flatMap((o) =>
      nodes.map(async (n) => {
        const list = (await o.get(`/v1/services/${serviceOf(n)}`)) as Instance[];
        out.set(`${o.name} ${serviceOf(n)}`, list.map((i) => i.node).sort());
      }),
    ),
  );
  return out;
}

/** Every lookup answers with exactly its owner's instance. */
const lookupsRight = (nodes: readonly string[]) => (m: Map<string, string[]>): boolean =>
  [...m].every(([k, v]) => v.length === 1 && nodes.some((n) => k.endsWith(` ${serviceOf(n)}`) && v[0] === n));

/**
 * Polls every view in the background and records every moment a member other than `restarting`
 * was missing, dead or left in the view of an agent other than `restarting`: a partition or a
 * flapping member. Suspicions are counted, not failed (a loaded machine may delay an ack).
 */
class Monitor {
  restarting: string | null = null;
  readonly problems: string[] = [];
  suspicions = 0;
  polls = 0;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(private readonly current: () => readonly AgentProcess[]) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const restarting = this.restarting;
      const list = this.current().filter((a) => a.name !== restarting);
      const all = this.current().map((a) => a.name);
      const views = await viewsOf(list);
      // A view read across a restart's start may be of the old process: only count polls that
      // began and ended with the same agent being restarted.
      if (this.restarting === restarting) {
        this.polls++;
        for (const [observer, view] of views) {
          if (view === null) continue; // an HTTP timeout on a loaded machine is not a view
          for (const member of all) {
            if (member === restarting) continue;
            const s = view.get(member)?.status;
            if (s === 'suspect') this.suspicions++;
            else if (s !== 'alive') this.problems.push(`${observer} listed ${member} as ${s ?? 'missing'} while ${restarting ?? 'no agent'} was restarting: ${describeViews(views)}`);
          }
        }
      }
      await sleep(300);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** Waits (bounded) until every agent lists every name alive and answers every name's lookup with its owner's instance. */
async function healthyMesh(list: readonly AgentProcess[], names: readonly string[], what = 'the mesh is whole'): Promise<void> {
  await waitUntil(`${what}: every agent lists all alive`, list, (v) => names.every((n) => v.get(n)?.status === 'alive'), { timeoutMs: 30_000 });
  await until(`${what}: every agent answers every lookup with its owner's instance`, () => lookups(list, names), lookupsRight(names), 30_000);
}

describe('identity rolled out in a running mesh of agent processes', () => {
  it('off -> send-unsigned -> accept-unsigned -> required, one restart at a time, without a partition; then forgeries change nothing and are counted', { timeout: 180_000 }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'hearsay-it-roll-'));
    dirs.push(root);
    const names = ['roll-a', 'roll-b', 'roll-c', 'roll-d'];
    const { caDir, certs } = await makeCa(root, [
      ...names.map((node) => ({ node, services: [serviceOf(node)] })),
      { node: 'mallory', services: ['mallory-*'] },
      { node: 'rogue', services: [] },
    ]);
    // rogue's certificate is revoked before the rollout starts: every agent started with identity
    // reads the list (--revocations).
    await cli(['ca', 'revoke', '--dir', caDir, join(certs, 'rogue.crt'), '--reason', 'test']);
    const key = generateKey();
    const dataDir = (n: string): string => join(root, 'data', n);
    for (const n of names) mkdirSync(dataDir(n), { recursive: true });
    const identityArgs = (n: string, step: 'send-unsigned' | 'accept-unsigned' | 'required'): string[] => [
      '--ca', join(caDir, 'ca.crt'),
      '--cert', join(certs, `${n}.crt`),
      '--cert-key', join(certs, `${n}.key`),
      '--revocations', join(caDir, 'revocations.json'),
      ...(step === 'required' ? [] : ['--identity-transition', step]),
    ];

    // 1. Four agents without identity, one service each, converged.
    const current: AgentProcess[] = [];
    const first = await agents.start(names[0] as string, { dns: 'off', dataDir: dataDir(names[0] as string), args: ['--key', key] });
    current.push(first);
    current.push(...(await Promise.all(names.slice(1).map((n) => agents.start(n, { dns: 'off', dataDir: dataDir(n), join: [first.gossip], args: ['--key', key] })))));
    await Promise.all(current.map((a, i) => register(a, 8100 + i)));
    const healthy = (what: string): Promise<void> => healthyMesh(current, names, what);
    await healthy('before the rollout');

    const monitor = new Monitor(() => current);
    const restart = async (i: number, step: 'send-unsigned' | 'accept-unsigned' | 'required'): Promise<void> => {
      const old = current[i] as AgentProcess;
      monitor.restarting = old.name;
      const polled = monitor.polls;
      signal(old, 'SIGTERM'); // a graceful leave, as systemctl restart does
      expect((await exitOf(old, 20_000)).code).toBe(0);
      const next = await agents.start(old.name, {
        dns: 'off',
        bind: old.gossip, // the port the operator configured
        dataDir: dataDir(old.name),
        join: current.filter((a) => a !== old).map((a) => a.gossip),
        args: ['--key', key, ...identityArgs(old.name, step)],
      });
      current[i] = next;
      await healthy(`after ${old.name} restarted with ${step}`);
      // At least one whole poll of every other view while this agent was away and back.
      await until(`the monitor polled while ${old.name} restarted`, () => Promise.resolve(monitor.polls), (n) => n > polled, 20_000);
      monitor.restarting = null;
      if (step === 'accept-unsigned' && i === 0) {
        // The first signer: the others, at step 1, verify what it signs (and still take it all).
        await until('the agents at send-unsigned verify the first signer\'s records', () => Promise.all(current.slice(1).map((a) => metric(a, 'hearsay_identity_records_verified_total'))), (v) => v.every((n) => n > 0), 20_000);
      }
    };

    // 2.-3. Each agent restarted in turn with each step.
    for (const step of ['send-unsigned', 'accept-unsigned', 'required'] as const) {
      for (let i = 0; i < names.length; i++) await restart(i, step);
      if (step === 'send-unsigned') {
        // Step 1 everywhere: nothing signed yet, unsigned records taken and counted.
        for (const a of current) {
          expect(await metric(a, 'hearsay_identity_records_signed_total'), a.name).toBe(0);
          expect(await metric(a, 'hearsay_identity_unsigned_accepted_total'), a.name).toBeGreaterThan(0);
        }
      }
      if (step === 'accept-unsigned') {
        // SECURITY.md: when hearsay_identity_unsigned_accepted_total stays flat on every node,
        // requiring signatures is safe. Every node signs now, so it does flatten.
        const counts = (): Promise<number[]> => Promise.all(current.map((a) => metric(a, 'hearsay_identity_unsigned_accepted_total')));
        let before = await counts();
        await until('hearsay_identity_unsigned_accepted_total is flat on every agent over 2 s', async () => {
          await sleep(2000);
          const now = await counts();
          const flat = now.every((v, k) => v === before[k]);
          before = now;
          return flat;
        }, (flat) => flat, 30_000);
      }
    }
    await monitor.stop();
    expect(monitor.problems.slice(0, 3), `${monitor.suspicions} suspicions seen in ${monitor.polls} polls`).toEqual([]);
    expect(monitor.polls).toBeGreaterThanOrEqual(3 * names.length);

    // Required everywhere: every agent signs and verifies, none drops a genuine record (not even
    // the announcement of a restarted owner's new generation).
    for (const a of current) {
      expect(await metric(a, 'hearsay_identity_records_signed_total')).toBeGreaterThan(0);
      expect(await metric(a, 'hearsay_identity_records_verified_total')).toBeGreaterThan(0);
      for (const r of ['identity-unsigned', 'bad-signature', 'cert-name-mismatch', 'service-not-allowed', 'bad-cert', 'revoked'] as const) expect(await dropped(a, r), `${a.name} ${r}`).toBe(0);
    }

    // 4. The forger: the cluster key and certificates of the CA (its own, a revoked one, an expired
    // one), sending to one agent.
    const target = current[0] as AgentProcess;
    const [victim, accused, accuser] = [current[1], current[2], current[3]] as [AgentProcess, AgentProcess, AgentProcess];
    const caCert = new X509Certificate(readFileSync(join(caDir, 'ca.crt')));
    const authOf = (node: string, dir = certs): Ed25519Authenticator => {
      const cert = new X509Certificate(readFileSync(join(dir, `${node}.crt`)));
      const k = createPrivateKey(readFileSync(join(dir, `${node}.key`)));
      // The expired certificate is checked as of its own lifetime, so that it can sign at all.
      const at = Date.parse(cert.validFrom) + 60_000;
      return new Ed25519Authenticator({ identity: checkIdentity({ ca: caCert, cert, key: k }, node, at), ca: caCert });
    };
    const mallory = authOf('mallory');
    const rogue = authOf('rogue');
    const staleDir = join(root, 'stale');
    await issueCertificate({ dir: caDir, node: 'stale', services: [], ttl: '1d', out: staleDir, nowMs: Date.now() - 10 * DAY });
    const stale = authOf('stale', staleDir);
    const accuserKey = authOf(accuser.name); // a compromised accuser's own key (for the service forgery)

    const envelope = new Envelope({ keyring: Keyring.fromBase64([key]), label: '' });
    const sock: Socket = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const addrOf = (hostPort: string): { host: string; port: number } => {
      const p = parseHostPort(hostPort);
      if (!p.ok) throw new Error(`bad address ${hostPort}`);
      return p.address;
    };
    const to = addrOf(target.gossip);
    const send = async (...parts: Uint8Array[]): Promise<void> => {
      const packet = envelope.seal(encodePacket(parts));
      await new Promise<void>((r, j) => sock.send(packet, to.port, to.host, (err) => (err ? j(err) : r())));
    };
    const signedBy = (auth: Ed25519Authenticator, msg: SignableMessage): Uint8Array => {
      const bytes = encodeMessage(msg);
      return encodeSigned(auth.fingerprint, auth.sign(bytes), bytes);
    };
    const entry = (owner: string, generation: number, service: string, auth: Ed25519Authenticator | null): StateEntry => {
      const id = `forged-${service}`;
      const e: StateEntry = { key: instanceKey(id), value: encodeInstanceEntry({ id, name: service, address: '10.66.6.6', port: 6666, tags: [], meta: {}, status: 'passing' }), version: 1_000_000, deleted: false };
      if (auth === null) return e;
      const signature = new Uint8Array(ENTRY_SIGNATURE_BYTES);
      signature.set(auth.fingerprint, 0);
      signature.set(auth.sign(entrySigningBytes(owner, generation, e)), 8);
      return { ...e, signature };
    };
    const delta = (owner: string, entries: StateEntry[], generation: number): Uint8Array => {
      const d: NodeDelta = { node: owner, generation, fromVersion: 999_999, toVersion: 1_000_000, reset: false, collectedVersion: 0, entries };
      return encodeStateDeltaMessage([encodeDelta(d)]);
    };

    const reasons = ['identity-unsigned', 'unknown-cert', 'cert-name-mismatch', 'bad-signature', 'service-not-allowed', 'bad-cert', 'revoked'] as const;
    const counts = async (): Promise<Record<string, number>> => Object.fromEntries(await Promise.all(reasons.map(async (r) => [r, await dropped(target, r)] as const)));
    const was = await counts();
    const viewsBefore = await viewsOf(current);
    const incVictim = (viewsBefore.get(target.name)?.get(victim.name) as MemberRow).incarnation;
    const incAccused = (viewsBefore.get(target.name)?.get(accused.name) as MemberRow).incarnation;
    const vAddr = addrOf(victim.gossip);
    const records: SignableMessage[] = [
      // An alive for another node's name: a higher incarnation, and 2^32-1 (tags are a state entry now, forged below as entries are).
      { type: 'alive', node: victim.name, addr: vAddr, incarnation: incVictim + 1, state: { payload: null } },
      { type: 'alive', node: victim.name, addr: { host: '127.0.0.1', port: 1 }, incarnation: MAX_INCARNATION, state: { payload: null } },
      // A suspect and a dead in a third node's name, and a leave in the node's own.
      { type: 'suspect', node: accused.name, incarnation: incAccused, from: accuser.name },
      { type: 'dead', node: accused.name, incarnation: incAccused, from: accuser.name },
      { type: 'dead', node: accused.name, incarnation: MAX_INCARNATION, from: accused.name },
    ];
    const G = 2 ** 40; // any generation: entries are verified before their versions are looked at
    // Unsigned: each record, and an instance entry in the victim's name.
    for (const r of records) await send(encodeMessage(r));
    await send(delta(victim.name, [entry(victim.name, G, serviceOf(victim.name), null)], G));
    // Signed by mallory before any agent holds its certificate: unknown, asked of the forger.
    for (const r of records) await send(signedBy(mallory, r));
    // mallory's certificate, then the same records and an entry in the victim's name: a name mismatch.
    const learned = await metric(target, 'hearsay_identity_certs_learned_total');
    await send(encodeMessage({ type: 'cert', certificate: mallory.certificate }));
    await until("the target holds mallory's certificate", () => metric(target, 'hearsay_identity_certs_learned_total'), (n) => n > learned, 10_000);
    for (const r of records) await send(signedBy(mallory, r));
    await send(delta(victim.name, [entry(victim.name, G, serviceOf(victim.name), mallory)], G));
    // Bytes changed after signing: mallory's signature over other bytes (a bad signature).
    const own = encodeMessage({ type: 'alive', node: 'mallory', addr: { host: '127.0.0.1', port: 1 }, incarnation: 1, state: { payload: null } });
    const other = encodeMessage({ type: 'alive', node: 'mallory', addr: { host: '127.0.0.1', port: 1 }, incarnation: 2, state: { payload: null } });
    await send(encodeSigned(mallory.fingerprint, mallory.sign(own), other));
    // A compromised accuser signs, with its own key, an instance of the victim's service in its
    // own state: its certificate allows only its own service.
    await send(delta(accuser.name, [entry(accuser.name, G, serviceOf(victim.name), accuserKey)], G));
    // The revoked certificate (refused when presented), and an alive it signs for its own name.
    await send(encodeMessage({ type: 'cert', certificate: rogue.certificate }), signedBy(rogue, { type: 'alive', node: 'rogue', addr: { host: '127.0.0.1', port: 2 }, incarnation: 1, state: { payload: null } }));
    // The expired certificate, and an alive it signs.
    await send(encodeMessage({ type: 'cert', certificate: stale.certificate }), signedBy(stale, { type: 'alive', node: 'stale', addr: { host: '127.0.0.1', port: 3 }, incarnation: 1, state: { payload: null } }));

    const expected = {
      'identity-unsigned': records.length + 1,
      'cert-name-mismatch': records.length + 1,
      'bad-signature': 1,
      'service-not-allowed': 1,
      revoked: 1,
      'bad-cert': 1,
    };
    const after = await until(
      'the target counted every forgery',
      async () => {
        const now = await counts();
        return Object.fromEntries(reasons.map((r) => [r, (now[r] as number) - (was[r] as number)]));
      },
      (d) => Object.entries(expected).every(([r, n]) => (d[r] as number) >= n) && (d['unknown-cert'] as number) >= records.length + 2,
      20_000,
    );
    expect(after).toMatchObject(expected);

    // Nothing changed: every view lists the four as before (same incarnations), nobody else, and
    // every lookup still answers with its owner's instance only. (The target counts a record as it
    // handles it, so its view already shows whatever it took.)
    const viewsAfter = await viewsOf(current);
    for (const a of current) {
      const view = viewsAfter.get(a.name) as Map<string, MemberRow>;
      expect([...view.keys()].sort(), `${a.name}'s view`).toEqual([...names].sort());
      for (const n of names) {
        expect(view.get(n)?.status, `${n} in ${a.name}'s view`).toBe('alive');
        expect(view.get(n)?.tags['role']).toBeUndefined();
        expect(view.get(n)?.incarnation, `${n} in ${a.name}'s view`).toBeLessThan(MAX_INCARNATION);
      }
    }
    expect(viewsAfter.get(target.name)?.get(victim.name)?.incarnation).toBe(incVictim);
    expect(lookupsRight(names)(await lookups(current, names))).toBe(true);
    sock.close();

    // An owner restarted without its services (a fresh data dir): its new generation holds only
    // its signed marker entry, which is what lets every enforced replica replace the old one, so
    // no agent lists its old instance any more.
    const last = current[3] as AgentProcess;
    signal(last, 'SIGTERM');
    expect((await exitOf(last, 20_000)).code).toBe(0);
    const fresh = join(root, 'data', 'fresh');
    mkdirSync(fresh);
    current[3] = await agents.start(last.name, { dns: 'off', bind: last.gossip, dataDir: fresh, join: current.slice(0, 3).map((a) => a.gossip), args: ['--key', key, ...identityArgs(last.name, 'required')] });
    await waitUntil(`every agent lists ${last.name} alive again`, current, (v) => names.every((n) => v.get(n)?.status === 'alive'), { timeoutMs: 30_000 });
    await until(`no agent lists ${serviceOf(last.name)} any more`, () => lookups(current, [last.name]), (m) => [...m.values()].every((v) => v.length === 0), 30_000);
    for (const a of current) expect(await dropped(a, 'identity-unsigned'), a.name).toBe(a === target ? (was['identity-unsigned'] as number) + expected['identity-unsigned'] : 0);
  });

  it('skipping a step: an agent requiring signatures refuses (and counts) what agents still sending unsigned records say', { timeout: 120_000 }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'hearsay-it-skip-'));
    dirs.push(root);
    const names = ['skip-a', 'skip-b', 'skip-c'];
    const { caDir, certs } = await makeCa(root, names.map((node) => ({ node, services: [serviceOf(node)] })));
    const key = generateKey();
    const args = (n: string, step?: 'send-unsigned' | 'accept-unsigned'): string[] => [
      '--key', key, '--ca', join(caDir, 'ca.crt'), '--cert', join(certs, `${n}.crt`), '--cert-key', join(certs, `${n}.key`),
      ...(step === undefined ? [] : ['--identity-transition', step]),
    ];
    // Step 1 done on two agents (they sign nothing yet); the third skips step 2 and requires signatures.
    const a = await agents.start('skip-a', { dns: 'off', args: args('skip-a', 'send-unsigned') });
    const b = await agents.start('skip-b', { dns: 'off', join: [a.gossip], args: args('skip-b', 'send-unsigned') });
    await Promise.all([register(a, 8201), register(b, 8202)]);
    await healthyMesh([a, b], ['skip-a', 'skip-b']);
    const c = await agents.start('skip-c', { dns: 'off', join: [a.gossip], args: [...args('skip-c'), '--log-level', 'warn'] });
    await register(c, 8203);
    // c drops every unsigned record a and b send (their gossip, state entries and the records of
    // a's answer to its join), counts them, and warns naming the sender and what to do (the
    // test keeps a log line's first 400 characters; test/agent/event-log.test.ts checks the rest).
    await until('skip-c counts the unsigned records it drops', () => dropped(c, 'identity-unsigned'), (n) => n >= 4, 20_000);
    await until('skip-c warns that skip-a signs nothing', async () => c.log.join('\n'), (log) => /dropped \d+ unsigned records? from skip-a \(127\.0\.0\.1\): this node requires signed records/.test(log), 20_000);
    const cView = (await viewsOf([c])).get(c.name);
    expect([...(cView?.keys() ?? [])]).toEqual(['skip-c']);
    expect(await metric(c, 'hearsay_identity_unsigned_accepted_total')).toBe(0);
    for (const n of ['skip-a', 'skip-b']) expect(await c.get(`/v1/services/${serviceOf(n)}`)).toEqual([]);
    // The other side reads c's signed records (step 1 verifies what is signed): a one-way view.
    await waitUntil('skip-a and skip-b list skip-c alive', [a, b], (v) => v.get('skip-c')?.status === 'alive', { timeoutMs: 30_000 });

    // The remedy SECURITY.md gives: c back to step 2; the mesh is whole again.
    signal(c, 'SIGTERM');
    expect((await exitOf(c, 20_000)).code).toBe(0);
    const c2 = await agents.start('skip-c', { dns: 'off', bind: c.gossip, join: [a.gossip], args: args('skip-c', 'accept-unsigned') });
    await register(c2, 8203);
    await healthyMesh([a, b, c2], names, 'after skip-c went back to accept-unsigned');
    expect(await metric(c2, 'hearsay_identity_unsigned_accepted_total')).toBeGreaterThan(0);
  });
});
