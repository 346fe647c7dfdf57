/**
 * Signed records on the wire (issue 14, points 2, 4 and 7), over the simulator with real Ed25519
 * keys and certificates on small worlds. The forger is a member with its own valid certificate
 * (mallory), who holds whatever a cluster key would give: it crafts packets with the project's own
 * encoder and injects them as any datagram. Every forgery of another node's records fails: no view
 * changes, and each drop is counted by its reason.
 */
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signRevocations } from '../../src/identity/revocations.js';
import type { IdentityCounters, IdentityTransition } from '../../src/membership/authenticator.js';
import { Membership } from '../../src/membership/membership.js';
import { SIGNED_GENERATION_KEY } from '../../src/membership/state-sync.js';
import { Ed25519Authenticator } from '../../src/identity/authenticator.js';
import { checkIdentity } from '../../src/identity/identity.js';
import { World, type SimMemberConfig } from '../../src/sim/index.js';
import { encodeMessage, encodePacket, encodePushPullPacket, encodeSigned, encodeStateDeltaMessage, MAX_INCARNATION } from '../../src/wire/codec.js';
import { encodeDelta, entrySigningBytes } from '../../src/wire/state-codec.js';
import type { NodeDelta, StateEntry } from '../../src/state/types.js';
import type { Address, Message, SignableMessage } from '../../src/wire/messages.js';
import { testCa, testNodeCert, type TestCa } from '../identity/support.js';

const MALLORY_ADDR: Address = { host: '10.66.6.6', port: 7946 };
const NO_STATE = { tags: {}, payload: null };

/** In these worlds an entry `svc:NAME` registers the service NAME (the agent reads instance entries). */
const serviceOf = (key: string): string | null => (key.startsWith('svc:') ? key.slice(4) : null);

function authFor(ca: TestCa, node: string): Ed25519Authenticator {
  const c = testNodeCert(ca, { node, services: ['billing', 'api-*'] });
  return new Ed25519Authenticator({ identity: checkIdentity({ ca: ca.cert, cert: c.cert, key: c.key }, node, Date.now()), ca: ca.cert, serviceOf });
}

/** A world whose nodes run identity as `modes` says (undefined: identity off); read at each (re)start. */
function identityWorld(n: number, modes: Map<string, IdentityTransition | undefined>, seed = 7) {
  const ca = testCa('sim.example');
  const auths = new Map<string, Ed25519Authenticator>();
  const authOf = (name: string): Ed25519Authenticator => {
    let a = auths.get(name);
    if (a === undefined) {
      a = authFor(ca, name);
      auths.set(name, a);
    }
    return a;
  };
  const world = new World({
    seed,
    profile: 'lan',
    factory: (config: SimMemberConfig) => {
      const mode = modes.get(config.name);
      return new Membership({ ...config, ...(mode === undefined ? {} : { identity: { authenticator: authOf(config.name), transition: mode } }) });
    },
  });
  const names = world.addNodes(n);
  return { world, ca, names, authOf };
}

const core = (w: World, name: string): Membership => w.member(name) as unknown as Membership;
const idc = (w: World, name: string): IdentityCounters => core(w, name).identityCounters as IdentityCounters;
const viewOf = (w: World, at: string, name: string): unknown => {
  const v = core(w, at).member(name);
  return v === undefined ? undefined : { status: v.status, incarnation: v.incarnation, host: v.host, port: v.port, tags: v.state.tags };
};
const views = (w: World, about: string): unknown[] => w.liveNames().map((n) => viewOf(w, n, about));

function inject(w: World, to: string, ...parts: Uint8Array[]): void {
  w.inject(to, MALLORY_ADDR, encodePacket(parts), 'datagram');
}

/** `msg` signed by `auth` (whoever it says the author is): what a forger with its own key can make. */
function signedBy(auth: Ed25519Authenticator, msg: SignableMessage, fingerprint = auth.fingerprint): Uint8Array {
  const bytes = encodeMessage(msg);
  return encodeSigned(fingerprint, auth.sign(bytes), bytes);
}

function enforcedWorld(n = 6) {
  const modes = new Map<string, IdentityTransition | undefined>();
  for (let k = 1; k <= n; k++) modes.set(`n${k}`, 'off');
  const env = identityWorld(n, modes);
  env.world.start(env.names[0] as string);
  env.world.joinAll({ staggerMs: 200 });
  env.world.runFor(20_000);
  return env;
}

describe('identity on the wire, in the simulator (real Ed25519)', () => {
  it('a mesh with identity enforced converges, signs and verifies, and learns certificates it lacks by asking', () => {
    const { world, names } = enforcedWorld(8);
    expect(world.isConverged()).toBe(true);
    for (const n of names) {
      const c = idc(world, n);
      expect(c.signed).toBeGreaterThan(0);
      expect(c.verified).toBeGreaterThan(0);
      expect(c['dropped.identity-unsigned']).toBe(0);
      expect(c['dropped.bad-signature']).toBe(0);
    }
    // Nodes that joined through the first one heard of later joiners by gossip, whose
    // certificates they had not yet seen: fetched with cert-request.
    const asked = names.reduce((s, n) => s + idc(world, n).certRequestsSent, 0);
    const learned = names.reduce((s, n) => s + idc(world, n).certsLearned, 0);
    expect(learned).toBeGreaterThan(0);
    expect(asked).toBeGreaterThan(0);
  });

  it('a crash is detected and a leave spreads, both as signed records', () => {
    const { world, names } = enforcedWorld(6);
    world.crash('n3');
    world.leave('n4');
    world.runFor(30_000);
    for (const n of names.filter((x) => x !== 'n3' && x !== 'n4')) {
      expect(core(world, n).statusOf('n3')).toBe('dead');
      expect(core(world, n).statusOf('n4')).toBe('left');
    }
  });

  it('forged alive for another name (higher incarnation, other tags), unsigned, signed by the forger, or at 2^32-1: no view changes, each drop counted', () => {
    const { world, names, authOf } = enforcedWorld(6);
    const mallory = authOf('mallory');
    const victim = 'n2';
    const before = views(world, victim);
    const was = { n1: { ...idc(world, 'n1') }, n5: { ...idc(world, 'n5') } };
    const inc = core(world, 'n1').member(victim)?.incarnation ?? 0;
    const addr = world.addressOf(victim);
    for (const incarnation of [inc + 1, inc + 1000, MAX_INCARNATION]) {
      const forged: SignableMessage = { type: 'alive', node: victim, addr, incarnation, state: { payload: null } };
      for (const at of ['n1', 'n5']) {
        inject(world, at, encodeMessage(forged)); // unsigned
        inject(world, at, signedBy(mallory, forged)); // mallory's key and certificate
        inject(world, at, signedBy(mallory, forged, authOf(victim).fingerprint)); // the victim's certificate named, mallory's signature
      }
    }
    world.runFor(10_000);
    expect(views(world, victim)).toEqual(before);
    for (const at of ['n1', 'n5'] as const) {
      const c = idc(world, at);
      const d = (k: keyof IdentityCounters): number => c[k] - was[at][k];
      expect(d('dropped.identity-unsigned')).toBe(3);
      expect(d('dropped.bad-signature')).toBe(3);
      // mallory's certificate is unknown to the mesh at first (asked of the forger's address,
      // never answered), so its own signature is dropped as unknown-cert.
      expect(d('dropped.unknown-cert')).toBe(3);
    }
    // With mallory's certificate known to the receivers, the same forgery is a name mismatch.
    for (const at of names) core(world, at).handlePacket(MALLORY_ADDR, encodePacket([encodeMessage({ type: 'cert', certificate: mallory.certificate })]), 'datagram', 0);
    const forged: SignableMessage = { type: 'alive', node: victim, addr, incarnation: MAX_INCARNATION, state: NO_STATE };
    inject(world, 'n1', signedBy(mallory, forged));
    expect(idc(world, 'n1')['dropped.cert-name-mismatch']).toBeGreaterThanOrEqual(1);
    world.runFor(5_000);
    expect(views(world, victim)).toEqual(before);
    expect(world.isConverged()).toBe(true);
  });

  it('forged dead, suspect and leave about another node (as if from a third, or from itself), unsigned or signed by the forger, at any incarnation: no view changes', () => {
    const { world, authOf } = enforcedWorld(6);
    const mallory = authOf('mallory');
    for (const at of world.liveNames()) core(world, at).handlePacket(MALLORY_ADDR, encodePacket([encodeMessage({ type: 'cert', certificate: mallory.certificate })]), 'datagram', 0);
    const victim = 'n3';
    const before = views(world, victim);
    const inc = core(world, 'n1').member(victim)?.incarnation ?? 0;
    const forgeries: Message[] = [];
    for (const incarnation of [inc, inc + 1, MAX_INCARNATION]) {
      forgeries.push({ type: 'dead', node: victim, incarnation, from: victim }); // a leave
      forgeries.push({ type: 'dead', node: victim, incarnation, from: 'n4' }); // n4's verdict
      forgeries.push({ type: 'suspect', node: victim, incarnation, from: 'n5' });
    }
    const counted = { unsigned: 0, mismatch: 0 };
    for (const f of forgeries) {
      for (const at of ['n1', 'n2', 'n6']) {
        inject(world, at, encodeMessage(f));
        inject(world, at, signedBy(mallory, f as SignableMessage));
      }
      counted.unsigned += 3;
      counted.mismatch += 3;
    }
    world.runFor(10_000);
    expect(views(world, victim)).toEqual(before);
    let unsigned = 0;
    let mismatch = 0;
    for (const at of ['n1', 'n2', 'n6']) {
      unsigned += idc(world, at)['dropped.identity-unsigned'];
      mismatch += idc(world, at)['dropped.cert-name-mismatch'];
    }
    expect(unsigned).toBe(counted.unsigned);
    expect(mismatch).toBe(counted.mismatch);
  });

  it('unsigned records from a node that signs nothing (a skipped rollout step): gossip and a push-pull alone are dropped, counted by record and reported with their sender', () => {
    const { world } = enforcedWorld(4);
    const n1 = core(world, 'n1');
    const was = idc(world, 'n1')['dropped.identity-unsigned'];
    const reports = (effects: ReturnType<Membership['handlePacket']>): unknown[] => effects.flatMap((e) => (e.type === 'report' && e.report.kind === 'unsigned-dropped' ? [e.report] : []));
    const alive: Message = { type: 'alive', node: 'old-1', addr: MALLORY_ADDR, incarnation: 1, state: NO_STATE };
    expect(reports(n1.handlePacket(MALLORY_ADDR, encodePacket([encodeMessage(alive)]), 'datagram', 0))).toEqual([{ kind: 'unsigned-dropped', from: MALLORY_ADDR, channel: 'datagram', count: 1 }]);
    // What a send-unsigned (or identity-off) node's push-pull is: the push-pull alone.
    const members = [0, 1, 2].map((k) => ({ node: `old-${k}`, addr: { host: '10.66.6.6', port: 7000 + k }, incarnation: 1, status: 'alive' as const, state: NO_STATE }));
    const from = { host: '10.66.6.6', port: 50123 };
    const pp = encodePushPullPacket({ type: 'push-pull', join: false, reply: false, source: 'old-0', members });
    expect(reports(n1.handlePacket(from, pp, 'stream', 0))).toEqual([{ kind: 'unsigned-dropped', from, channel: 'stream', count: 3, source: 'old-0' }]);
    expect(idc(world, 'n1')['dropped.identity-unsigned'] - was).toBe(4);
    for (const m of members) expect(n1.member(m.node)).toBeUndefined();
    // A signing peer's push-pull (its records follow signed ones) is not counted: the mesh runs on.
    world.runFor(10_000);
    expect(idc(world, 'n1')['dropped.identity-unsigned'] - was).toBe(4);
    expect(world.isConverged()).toBe(true);
  });

  it("a compromised node's own accusation is attributable and refuted, as before", () => {
    const { world, authOf } = enforcedWorld(6);
    const mallory = authOf('mallory');
    core(world, 'n1').handlePacket(MALLORY_ADDR, encodePacket([encodeMessage({ type: 'cert', certificate: mallory.certificate })]), 'datagram', 0);
    const inc = core(world, 'n1').member('n2')?.incarnation ?? 0;
    const events: string[] = [];
    world.onEvent((node, e) => {
      if (node === 'n1' && e.type === 'member-suspect') events.push(e.from);
    });
    inject(world, 'n1', signedBy(mallory, { type: 'suspect', node: 'n2', incarnation: inc, from: 'mallory' }));
    expect(events).toEqual(['mallory']);
    world.runFor(10_000);
    for (const n of world.liveNames()) expect(core(world, n).statusOf('n2')).toBe('alive');
  });

  it('a record whose signature was cut from another record, or whose bytes were changed after signing, is a bad signature', () => {
    const { world, authOf } = enforcedWorld(4);
    const n2 = authOf('n2');
    const inc = core(world, 'n1').member('n2')?.incarnation ?? 0;
    const real = encodeMessage({ type: 'alive', node: 'n2', addr: world.addressOf('n2'), incarnation: inc, state: NO_STATE });
    const sig = n2.sign(real);
    const changed = encodeMessage({ type: 'alive', node: 'n2', addr: world.addressOf('n2'), incarnation: inc + 5, state: NO_STATE });
    inject(world, 'n1', encodeSigned(n2.fingerprint, sig, changed));
    const flipped = sig.slice();
    flipped[10] = (flipped[10] as number) ^ 1;
    inject(world, 'n1', encodeSigned(n2.fingerprint, flipped, real));
    expect(idc(world, 'n1')['dropped.bad-signature']).toBe(2);
    expect(core(world, 'n1').member('n2')?.incarnation).toBe(inc);
  });

  it('the copies of one signed record from several relays cost one verification (the cache)', () => {
    const { world, authOf } = enforcedWorld(4);
    const n1 = authOf('n1');
    const statsBefore = { ...n1.stats };
    const inc = core(world, 'n1').member('n3')?.incarnation ?? 0;
    const signed = signedBy(authOf('n3'), { type: 'alive', node: 'n3', addr: world.addressOf('n3'), incarnation: inc, state: NO_STATE });
    for (let k = 0; k < 5; k++) inject(world, 'n1', signed);
    expect(n1.stats.verifications - statsBefore.verifications).toBeLessThanOrEqual(1);
    expect(n1.stats.cacheHits - statsBefore.cacheHits).toBeGreaterThanOrEqual(4);
  });

  it('a certificate of another CA is dropped when presented, and its records stay unverifiable', () => {
    const { world } = enforcedWorld(4);
    const other = testCa('other.example');
    const c = testNodeCert(other, { node: 'n2' });
    const stranger = new Ed25519Authenticator({ identity: checkIdentity({ ca: other.cert, cert: c.cert, key: c.key }, 'n2', Date.now()), ca: other.cert });
    inject(world, 'n1', encodeMessage({ type: 'cert', certificate: stranger.certificate }));
    expect(idc(world, 'n1')['dropped.bad-cert']).toBe(1);
    const inc = core(world, 'n1').member('n2')?.incarnation ?? 0;
    inject(world, 'n1', signedBy(stranger, { type: 'alive', node: 'n2', addr: MALLORY_ADDR, incarnation: inc + 1, state: NO_STATE }));
    expect(idc(world, 'n1')['dropped.unknown-cert']).toBeGreaterThanOrEqual(1);
    expect(core(world, 'n1').member('n2')?.host).toBe(world.addressOf('n2').host);
  });

  it('a certificate a newer revocation list names is refused: its records and its certificate are dropped as revoked', () => {
    const { world, authOf, ca } = enforcedWorld(4);
    const at = new Date().toISOString();
    const fingerprint = new X509Certificate(authOf('n4').certificate).fingerprint256;
    authOf('n1').setRevocations(signRevocations({ issuer: ca.cert.fingerprint256, version: 2, issuedAt: at, revoked: [{ fingerprint, revokedAt: at }] }, ca.privateKey));
    const was = idc(world, 'n1')['dropped.revoked'];
    const inc = core(world, 'n1').member('n4')?.incarnation ?? 0;
    inject(world, 'n1', signedBy(authOf('n4'), { type: 'alive', node: 'n4', addr: world.addressOf('n4'), incarnation: inc + 1, state: NO_STATE }));
    expect(idc(world, 'n1')['dropped.revoked'] - was).toBe(1);
    expect(core(world, 'n1').member('n4')?.incarnation).toBe(inc);
    inject(world, 'n1', encodeMessage({ type: 'cert', certificate: authOf('n4').certificate }));
    expect(idc(world, 'n1')['dropped.revoked'] - was).toBe(2);
  });

  it('a revocation list adopted node by node (Membership.revoke) removes the revoked node from every view for good: its refutations and its restart are dropped', () => {
    const { world, authOf, ca } = enforcedWorld(6);
    const at = new Date().toISOString();
    const fingerprint = new X509Certificate(authOf('n6').certificate).fingerprint256;
    const list = signRevocations({ issuer: ca.cert.fingerprint256, version: 1, issuedAt: at, revoked: [{ fingerprint, revokedAt: at }] }, ca.privateKey);
    const others = ['n1', 'n2', 'n3', 'n4', 'n5'];
    // As the agents do on adoption, one after another as each fetches the list.
    others.forEach((n, k) =>
      world.after(100 * k, () => {
        authOf(n).setRevocations(list);
        expect(authOf(n).revokedNodes()).toEqual(new Set(['n6']));
        world.revoke(n, 'n6');
      }),
    );
    world.runFor(30_000);
    expect(others.map((n) => core(world, n).member('n6')?.status)).toEqual(['dead', 'dead', 'dead', 'dead', 'dead']);
    const dropped = (): number => others.reduce((s, n) => s + idc(world, n)['dropped.revoked'], 0);
    expect(dropped()).toBeGreaterThan(0); // its refutations
    // Restarted with the same certificate, it joins again: nobody takes it back.
    world.crash('n6');
    world.runFor(1000);
    world.restart('n6', { join: ['n1'] });
    const before = dropped();
    world.runFor(30_000);
    expect(others.map((n) => core(world, n).member('n6')?.status)).toEqual(['dead', 'dead', 'dead', 'dead', 'dead']);
    expect(dropped()).toBeGreaterThan(before);
    // The others still see each other alive.
    for (const n of others) expect(others.every((m) => core(world, n).member(m)?.status === 'alive')).toBe(true);
  });

  it('fuzz: mutated signed records (any byte of the wrapper, the signature or the signed bytes) never throw and never change a view', () => {
    const { world, authOf } = enforcedWorld(5);
    const before = ['n2', 'n3', 'n4'].map((n) => views(world, n));
    const inc = core(world, 'n1').member('n2')?.incarnation ?? 0;
    const corpus = [
      signedBy(authOf('n2'), { type: 'alive', node: 'n2', addr: world.addressOf('n2'), incarnation: inc + 7, state: { payload: null } }),
      signedBy(authOf('n3'), { type: 'dead', node: 'n4', incarnation: inc + 7, from: 'n3' }),
      signedBy(authOf('n4'), { type: 'dead', node: 'n4', incarnation: inc + 7, from: 'n4' }),
    ];
    let seed = 0x2545f491;
    const next = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    for (let i = 0; i < 3000; i++) {
      const m = Uint8Array.from(corpus[i % corpus.length] as Uint8Array);
      const flips = 1 + (next() % 3);
      // Mutations past the wrapper's header: a mutated type code or bin length is a decode error.
      for (let f = 0; f < flips; f++) {
        const at = 4 + (next() % (m.length - 4));
        m[at] = (m[at] as number) ^ (1 << next() % 8);
      }
      // (Two flips of one bit give back the genuine record, which is rightly taken: skipped.)
      if (Buffer.compare(m, corpus[i % corpus.length] as Uint8Array) === 0) continue;
      expect(() => inject(world, 'n1', m)).not.toThrow();
    }
    world.runFor(3_000);
    expect(['n2', 'n3', 'n4'].map((n) => views(world, n))).toEqual(before);
    const c = idc(world, 'n1');
    expect(c['dropped.bad-signature'] + c['dropped.unknown-cert'] + c['dropped.cert-name-mismatch']).toBeGreaterThan(1000);
  });

  it('turns identity on in a running mesh without a partition: off -> send-unsigned -> accept-unsigned -> enforced, one restart at a time', () => {
    const n = 6;
    const modes = new Map<string, IdentityTransition | undefined>();
    const { world, names } = identityWorld(n, modes, 11);
    world.start(names[0] as string);
    world.joinAll({ staggerMs: 200 });
    world.runFor(15_000);
    expect(world.isConverged()).toBe(true);
    const everyoneSeesEveryone = (): boolean => names.every((a) => names.every((b) => core(world, a).statusOf(b) === 'alive'));
    for (const step of ['send-unsigned', 'accept-unsigned', 'off'] as const) {
      for (const name of names) {
        modes.set(name, step);
        world.restart(name, { join: names.filter((x) => x !== name).slice(0, 2) });
        world.runFor(8_000);
        // Nobody is lost from any view while the mesh is mixed.
        expect(everyoneSeesEveryone(), `after ${name} went to ${step}`).toBe(true);
      }
    }
    world.runFor(10_000);
    expect(world.isConverged()).toBe(true);
    for (const name of names) {
      const c = idc(world, name);
      expect(c.verified).toBeGreaterThan(0);
      expect(c['dropped.bad-signature']).toBe(0);
    }
    // Enforced everywhere: an unsigned forgery is now dropped.
    const inc = core(world, 'n1').member('n2')?.incarnation ?? 0;
    inject(world, 'n1', encodeMessage({ type: 'dead', node: 'n2', incarnation: inc, from: 'n3' }));
    expect(core(world, 'n1').statusOf('n2')).toBe('alive');
  });

  describe('state entries (the registry rides on them)', () => {
    const value = new TextEncoder().encode('10.0.0.9:8080');
    const signEntry = (auth: Ed25519Authenticator, owner: string, generation: number, e: StateEntry): StateEntry => {
      const sig = new Uint8Array(72);
      sig.set(auth.fingerprint, 0);
      sig.set(auth.sign(entrySigningBytes(owner, generation, e)), 8);
      return { ...e, signature: sig };
    };
    const deltaPacket = (d: NodeDelta): Uint8Array => encodeStateDeltaMessage([encodeDelta(d)]);

    it("an owner's entries are signed, spread and verified; forged entries, resets and generations for another owner change nothing", () => {
      const { world, authOf } = enforcedWorld(5);
      world.changeState('n2', [{ key: 'svc:billing', value }]);
      world.runFor(5_000);
      for (const n of world.liveNames()) expect(core(world, n).stateEntry('n2', 'svc:billing')?.value).toEqual(value);
      const digest = core(world, 'n1').stateDigestOf('n2') as { generation: number; version: number };
      const was = { ...idc(world, 'n1') };
      const mallory = authOf('mallory');
      core(world, 'n1').handlePacket(MALLORY_ADDR, encodePacket([encodeMessage({ type: 'cert', certificate: mallory.certificate })]), 'datagram', 0);
      const forged: StateEntry = { key: 'svc:billing', value: new TextEncoder().encode('10.66.6.6:8080'), version: digest.version + 1, deleted: false };
      const base = { node: 'n2', generation: digest.generation, fromVersion: digest.version, toVersion: digest.version + 1, reset: false, collectedVersion: 0 };
      inject(world, 'n1', deltaPacket({ ...base, entries: [forged] })); // unsigned
      inject(world, 'n1', deltaPacket({ ...base, entries: [signEntry(mallory, 'n2', digest.generation, forged)] })); // mallory's signature
      inject(world, 'n1', deltaPacket({ ...base, reset: true, fromVersion: 0, toVersion: digest.version + 5, entries: [] })); // an empty reset
      inject(world, 'n1', deltaPacket({ ...base, generation: digest.generation + 1, fromVersion: 0, toVersion: 0, reset: true, entries: [] })); // a new generation
      const now = idc(world, 'n1');
      expect(now['dropped.identity-unsigned'] - was['dropped.identity-unsigned']).toBe(3);
      expect(now['dropped.cert-name-mismatch'] - was['dropped.cert-name-mismatch']).toBe(1);
      world.runFor(5_000);
      for (const n of world.liveNames()) expect(core(world, n).stateEntry('n2', 'svc:billing')?.value).toEqual(value);
      expect(core(world, 'n1').stateDigestOf('n2')).toEqual(digest);
    });

    it("an owner restarted with its entries (a new generation) is taken by every enforced replica: its announcement is not counted as unsigned", () => {
      const { world, names } = enforcedWorld(5);
      world.changeState('n2', [{ key: 'svc:billing', value }]);
      world.runFor(5_000);
      const was = names.map((n) => idc(world, n)['dropped.identity-unsigned']);
      const generation = (core(world, 'n1').stateDigestOf('n2') as { generation: number }).generation;
      const other = new TextEncoder().encode('10.0.0.9:9090');
      world.restart('n2', { join: ['n1'], entries: [{ key: 'svc:billing', value }, { key: 'svc:api-users', value: other }] });
      world.runFor(10_000);
      for (const n of names.filter((x) => x !== 'n2')) {
        expect(core(world, n).stateDigestOf('n2')?.generation, n).toBeGreaterThan(generation);
        expect(core(world, n).stateEntry('n2', 'svc:api-users')?.value, n).toEqual(other);
      }
      // Its start announces the new generation (an empty delta above version 0): honest, and a gap
      // for a replica of the old one, which fetches the signed entries; never an unsigned drop.
      expect(names.map((n) => idc(world, n)['dropped.identity-unsigned'])).toEqual(was);
    });

    it('an owner restarted with no entries (a new generation) replaces its old one everywhere: its old instances are not kept', () => {
      const { world, names } = enforcedWorld(5);
      world.changeState('n2', [{ key: 'svc:billing', value }]);
      world.runFor(5_000);
      for (const n of names) expect(core(world, n).stateEntry('n2', 'svc:billing')?.value, n).toEqual(value);
      const was = names.map((n) => idc(world, n)['dropped.identity-unsigned']);
      world.restart('n2', { join: ['n1'] });
      world.runFor(20_000);
      // The new generation holds only the owner's signed marker, which is what lets it replace the
      // old one at an enforced replica (a reset or a new generation must carry a signed entry).
      for (const n of names) expect(core(world, n).stateEntry('n2', 'svc:billing'), n).toBeUndefined();
      expect(core(world, 'n2').stateEntry('n2', SIGNED_GENERATION_KEY)?.signature?.length).toBe(72);
      expect(names.map((n) => idc(world, n)['dropped.identity-unsigned'])).toEqual(was);
    });

    it("an empty announcement of a new generation above version 0 replaces nothing: the replica is kept and the new generation asked for", () => {
      const { world } = enforcedWorld(4);
      world.changeState('n2', [{ key: 'svc:billing', value }]);
      world.runFor(5_000);
      const digest = core(world, 'n1').stateDigestOf('n2') as { generation: number; version: number };
      const was = { ...idc(world, 'n1') };
      inject(world, 'n1', deltaPacket({ node: 'n2', generation: digest.generation + 1, fromVersion: 5, toVersion: 5, reset: false, collectedVersion: 0, entries: [] }));
      expect(idc(world, 'n1')['dropped.identity-unsigned']).toBe(was['dropped.identity-unsigned']);
      world.runFor(5_000);
      expect(core(world, 'n1').stateDigestOf('n2')).toEqual(digest);
      expect(core(world, 'n1').stateEntry('n2', 'svc:billing')?.value).toEqual(value);
      // From version 0 it would replace the replica with nothing: dropped, as an empty reset is.
      inject(world, 'n1', deltaPacket({ node: 'n2', generation: digest.generation + 1, fromVersion: 0, toVersion: 5, reset: false, collectedVersion: 0, entries: [] }));
      expect(idc(world, 'n1')['dropped.identity-unsigned']).toBe(was['dropped.identity-unsigned'] + 1);
      expect(core(world, 'n1').stateEntry('n2', 'svc:billing')?.value).toEqual(value);
    });

    it('an entry naming a service its owner\'s certificate does not allow is dropped by receivers, even signed by the owner', () => {
      const { world, authOf } = enforcedWorld(4);
      const digest = core(world, 'n1').stateDigestOf('n3') ?? { generation: 1, version: 0 };
      const was = { ...idc(world, 'n1') };
      // n3 is compromised: it signs, with its own key, an entry for "payments", which its
      // certificate (billing, api-*) does not name.
      const e: StateEntry = { key: 'svc:payments', value, version: digest.version + 1, deleted: false };
      inject(world, 'n1', deltaPacket({ node: 'n3', generation: digest.generation, fromVersion: digest.version, toVersion: digest.version + 1, reset: false, collectedVersion: 0, entries: [signEntry(authOf('n3'), 'n3', digest.generation, e)] }));
      expect(idc(world, 'n1')['dropped.service-not-allowed'] - was['dropped.service-not-allowed']).toBe(1);
      expect(core(world, 'n1').stateEntry('n3', 'svc:payments')).toBeUndefined();
      // One it allows goes in.
      const ok: StateEntry = { key: 'svc:api-users', value, version: digest.version + 1, deleted: false };
      inject(world, 'n1', deltaPacket({ node: 'n3', generation: digest.generation, fromVersion: digest.version, toVersion: digest.version + 1, reset: false, collectedVersion: 0, entries: [signEntry(authOf('n3'), 'n3', digest.generation, ok)] }));
      expect(core(world, 'n1').stateEntry('n3', 'svc:api-users')?.value).toEqual(value);
    });
  });
});
