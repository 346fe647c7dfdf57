/**
 * Key operations across the mesh (src/security/key-manager.ts), with the control dial and the
 * member list faked: each fake member answers through a KeyManager of its own (handleRemote, the
 * unit's answering side), or is unreachable, or answers garbage, as a test says.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EncryptionDisabledError, InvalidKeyError, KeyNotInstalledError, KeyOperationUnsafeError, RemovePrimaryKeyError } from '../../src/security/errors.js';
import { KeyManager, type ControlDialer, type KeyOp, type PeerLister } from '../../src/security/key-manager.js';
import { keyIdOfBase64, Keyring, readKeyringFile } from '../../src/security/keyring.js';
import type { ControlResult } from '../../src/security/secure-transport.js';
import type { Address } from '../../src/wire/messages.js';

const K = (n: number): string => Buffer.alloc(32, n).toString('base64');
const id = (n: number): string => keyIdOfBase64(K(n));
const ring = (...keys: number[]): Keyring => Keyring.fromBase64(keys.map(K));

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'hearsay-keyman-'));
  dirs.push(d);
  return d;
}

interface FakeMember {
  readonly name: string;
  readonly addr: Address;
  readonly keyring: Keyring | null;
  readonly side: KeyManager;
  /** Set: the dial fails with this message. */
  down?: string;
  /** Set: the member answers this instead of its KeyManager's answer. */
  answer?: (request: unknown) => unknown;
}

interface Dial {
  readonly to: string;
  readonly request: unknown;
  /** This node's keys when the request went out. */
  readonly localKeys: readonly string[];
}

/** This node ("self") and the members it fans out to. */
class Mesh {
  readonly members: FakeMember[] = [];
  readonly dials: Dial[] = [];
  constructor(readonly self: Keyring | null) {}

  add(name: string, keyring: Keyring | null): FakeMember {
    const m: FakeMember = {
      name,
      addr: { host: '127.0.0.1', port: 10_000 + this.members.length },
      keyring,
      side: new KeyManager(keyring, name, () => [], () => Promise.reject(new Error('members do not dial in these tests'))),
    };
    this.members.push(m);
    return m;
  }

  readonly peers: PeerLister = () => this.members.map((m) => ({ name: m.name, addr: m.addr }));

  readonly dial: ControlDialer = async (to, request): Promise<ControlResult> => {
    const m = this.members.find((x) => x.addr.port === to.port);
    if (m === undefined) throw new Error(`dialled an address no member has: ${to.port}`);
    this.dials.push({ to: m.name, request, localKeys: this.self?.toBase64() ?? [] });
    await Promise.resolve(); // answers come later, as over a connection
    if (m.down !== undefined) return { ok: false, message: m.down };
    if (m.answer !== undefined) return { ok: true, answer: m.answer(request) };
    return { ok: true, answer: m.side.handleRemote(request) };
  };

  manager(options: ConstructorParameters<typeof KeyManager>[4] = {}): KeyManager {
    return new KeyManager(this.self, 'self', this.peers, this.dial, options);
  }

  ops(): string[] {
    return this.dials.map((d) => `${(d.request as { op: string }).op}@${d.to}`);
  }
}

async function refusal(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a refusal');
}

/** A pino logger whose JSON lines land in `lines`. */
function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

describe('KeyManager.run: the report', () => {
  it('list asks every member and reports nodes, answers, failures, and per key id how many hold it and use it as primary', async () => {
    const mesh = new Mesh(ring(1));
    mesh.add('b', ring(1, 2));
    mesh.add('c', ring(2, 1));
    const report = await mesh.manager().run('list');
    expect(report).toEqual({
      op: 'list',
      nodes: 3,
      responded: 3,
      failures: {},
      keys: { [id(1)]: 3, [id(2)]: 2 },
      primaryKeys: { [id(1)]: 2, [id(2)]: 1 },
    });
    expect(mesh.ops().sort()).toEqual(['list@b', 'list@c']);
  });

  it('names keys by id, never by the key itself', async () => {
    const mesh = new Mesh(ring(1, 2));
    mesh.add('b', ring(2, 1));
    const report = await mesh.manager().run('install', K(3));
    const text = JSON.stringify(report);
    for (const n of [1, 2, 3]) expect(text).not.toContain(K(n).slice(0, 16));
    expect(Object.keys(report.keys).sort()).toEqual([id(1), id(2), id(3)].sort());
  });

  it('counts this node once, even when the member list includes it', async () => {
    const mesh = new Mesh(ring(1));
    mesh.add('b', ring(1));
    const withSelf: PeerLister = () => [...mesh.peers(), { name: 'self', addr: { host: '127.0.0.1', port: 1 } }];
    const report = await new KeyManager(mesh.self, 'self', withSelf, mesh.dial).run('list');
    expect(report).toMatchObject({ nodes: 2, responded: 2, keys: { [id(1)]: 2 } });
    expect(mesh.ops()).toEqual(['list@b']);
  });

  it('with no other member, reports this node alone', async () => {
    const report = await new Mesh(ring(1, 2)).manager().run('list');
    expect(report).toEqual({ op: 'list', nodes: 1, responded: 1, failures: {}, keys: { [id(1)]: 1, [id(2)]: 1 }, primaryKeys: { [id(1)]: 1 } });
  });

  it('reports an unreachable member by name as not answering, and counts the others', async () => {
    const mesh = new Mesh(ring(1));
    mesh.add('b', ring(1));
    mesh.add('c', ring(1)).down = 'connect ECONNREFUSED 127.0.0.1:10001';
    const report = await mesh.manager().run('list');
    expect(report).toEqual({
      op: 'list',
      nodes: 3,
      responded: 2,
      failures: { c: 'no answer: connect ECONNREFUSED 127.0.0.1:10001' },
      keys: { [id(1)]: 2 },
      primaryKeys: { [id(1)]: 2 },
    });
  });

  const garbage: [string, unknown][] = [
    ['a string', 'hello'],
    ['null', null],
    ['ok that is not a boolean', { ok: 'yes', keys: [] }],
    ['keys that are not an array', { ok: true, keys: K(1) }],
    ['a key that is not a string', { ok: true, keys: [7] }],
    ['more than 64 keys', { ok: true, keys: Array.from({ length: 65 }, () => K(1)) }],
    ['a key over 64 characters', { ok: true, keys: ['x'.repeat(65)] }],
  ];

  it.each(garbage)('reports a member that answers %s as a failure, not as an answer', async (_what, answer) => {
    const mesh = new Mesh(ring(1));
    mesh.add('b', ring(1)).answer = () => answer;
    const report = await mesh.manager().run('list');
    expect(report).toMatchObject({ nodes: 2, responded: 1, failures: { b: 'answered something that is not a key-operation answer' }, keys: { [id(1)]: 1 } });
  });

  it('counts a malformed key in an answer as "invalid", and keeps a member’s error to 1000 characters', async () => {
    const mesh = new Mesh(ring(1));
    mesh.add('b', ring(1)).answer = () => ({ ok: false, error: 'e'.repeat(5000), keys: ['abc'] });
    const report = await mesh.manager().run('list');
    expect(report.keys).toEqual({ [id(1)]: 1, invalid: 1 });
    expect(report.primaryKeys).toEqual({ [id(1)]: 1, invalid: 1 });
    expect(report.responded).toBe(2);
    expect(report.failures.b).toBe('e'.repeat(1000));
  });

  it('asks at most 32 members at once and every member once', async () => {
    const self = ring(1);
    const pending: (() => void)[] = [];
    let inFlight = 0;
    let most = 0;
    const asked: number[] = [];
    const dial: ControlDialer = (to) =>
      new Promise((resolve) => {
        asked.push(to.port);
        inFlight++;
        most = Math.max(most, inFlight);
        pending.push(() => {
          inFlight--;
          resolve({ ok: true, answer: { ok: true, keys: [K(1)] } });
        });
      });
    const peers = Array.from({ length: 100 }, (_, i) => ({ name: `m${i}`, addr: { host: '127.0.0.1', port: 20_000 + i } }));
    const run = new KeyManager(self, 'self', () => peers, dial).run('list');
    for (let rounds = 0; rounds < 1000 && (pending.length > 0 || asked.length < 100); rounds++) {
      await Promise.resolve();
      pending.shift()?.();
    }
    const report = await run;
    expect(most).toBe(32);
    expect(asked.sort()).toEqual(peers.map((p) => p.addr.port));
    expect(report).toMatchObject({ nodes: 101, responded: 101, keys: { [id(1)]: 101 } });
  });

  it('logs the operation with the key id, never the key', async () => {
    const { logger, lines } = capturingLogger();
    const mesh = new Mesh(ring(1));
    mesh.add('b', ring(1));
    mesh.add('c', ring(1)).down = 'refused';
    await mesh.manager({ logger }).run('install', K(2));
    expect(lines).toEqual([expect.objectContaining({ msg: 'key operation', op: 'install', key: id(2), nodes: 3, responded: 2, failures: 1 })]);
    expect(JSON.stringify(lines)).not.toContain(K(2).slice(0, 16));
  });
});

describe('KeyManager.run: refusals before anything changes', () => {
  it('refuses every operation without a keyring, saying how to turn encryption on', async () => {
    const mesh = new Mesh(null);
    mesh.add('b', ring(1));
    for (const op of ['list', 'install'] as const) {
      const err = await refusal(mesh.manager().run(op, K(1)));
      expect(err).toBeInstanceOf(EncryptionDisabledError);
      expect(err.message).toMatch(new RegExp(`^keys ${op}: this agent runs without encryption.*restart it with --key KEY or --keyring-file FILE`));
    }
    expect(mesh.dials).toEqual([]);
  });

  it('refuses an unknown operation', async () => {
    const mesh = new Mesh(ring(1));
    mesh.add('b', ring(1));
    const err = await refusal(mesh.manager().run('rotate' as KeyOp, K(2)));
    expect(err).toBeInstanceOf(InvalidKeyError);
    expect(err.message).toMatch(/^keys rotate: unknown operation: use list, install, use or remove/);
    expect(mesh.dials).toEqual([]);
  });

  it.each(['install', 'use', 'remove'] as const)('refuses %s with a missing or invalid key, naming the operation', async (op) => {
    const mesh = new Mesh(ring(1));
    mesh.add('b', ring(1));
    expect((await refusal(mesh.manager().run(op))).message).toMatch(new RegExp(`^keys ${op}: the key is empty`));
    const err = await refusal(mesh.manager().run(op, Buffer.alloc(8).toString('base64')));
    expect(err).toBeInstanceOf(InvalidKeyError);
    expect(err.message).toMatch(new RegExp(`^keys ${op}: the key decodes to 8 bytes, not 32`));
    expect(mesh.dials).toEqual([]);
  });

  it('refuses to remove this node’s primary key before asking anyone', async () => {
    const mesh = new Mesh(ring(1, 2));
    const b = mesh.add('b', ring(2, 1));
    const err = await refusal(mesh.manager().run('remove', K(1)));
    expect(err).toBeInstanceOf(RemovePrimaryKeyError);
    expect(err.message).toContain(id(1));
    expect(mesh.dials).toEqual([]);
    expect(mesh.self?.toBase64()).toEqual([K(1), K(2)]);
    expect(b.keyring?.toBase64()).toEqual([K(2), K(1)]);
  });

  it('refuses to use a key this node does not hold before asking anyone', async () => {
    const mesh = new Mesh(ring(1));
    mesh.add('b', ring(1, 2));
    const err = await refusal(mesh.manager().run('use', K(2)));
    expect(err).toBeInstanceOf(KeyNotInstalledError);
    expect(err.message).toContain(id(2));
    expect(mesh.dials).toEqual([]);
  });

  it('refuses to install into a full keyring here before asking anyone; a key it holds is fine', async () => {
    const mesh = new Mesh(ring(...Array.from({ length: 16 }, (_, i) => i + 1)));
    mesh.add('b', ring(1));
    const err = await refusal(mesh.manager().run('install', K(99)));
    expect(err).toBeInstanceOf(InvalidKeyError);
    expect(err.message).toMatch(/^keys install: the keyring already holds 16 keys: remove an old key first/);
    expect(mesh.dials).toEqual([]);
    expect((await mesh.manager().run('install', K(3))).failures).toEqual({});
  });
});

describe('KeyManager.run: install', () => {
  it('installs the key on every member and here, the primary unchanged', async () => {
    const mesh = new Mesh(ring(1));
    const b = mesh.add('b', ring(1));
    const c = mesh.add('c', ring(1));
    const report = await mesh.manager().run('install', K(2));
    expect(report).toEqual({ op: 'install', nodes: 3, responded: 3, failures: {}, keys: { [id(1)]: 3, [id(2)]: 3 }, primaryKeys: { [id(1)]: 3 } });
    for (const r of [mesh.self, b.keyring, c.keyring]) expect(r?.toBase64()).toEqual([K(1), K(2)]);
  });

  it('changes this node only after every member has answered', async () => {
    const mesh = new Mesh(ring(1));
    mesh.add('b', ring(1));
    mesh.add('c', ring(1));
    await mesh.manager().run('install', K(2));
    expect(mesh.dials.map((d) => d.localKeys)).toEqual([[K(1)], [K(1)]]);
    expect(mesh.self?.toBase64()).toEqual([K(1), K(2)]);
  });

  it('goes on past members that fail or refuse, naming each with its reason', async () => {
    const mesh = new Mesh(ring(1));
    const b = mesh.add('b', ring(1));
    mesh.add('full', ring(...Array.from({ length: 16 }, (_, i) => i + 1)));
    mesh.add('gone', ring(1)).down = 'read timeout';
    mesh.add('plain', null);
    const report = await mesh.manager().run('install', K(50));
    expect(report.nodes).toBe(5);
    expect(report.responded).toBe(4);
    expect(Object.keys(report.failures).sort()).toEqual(['full', 'gone', 'plain']);
    expect(report.failures.full).toMatch(/the keyring already holds 16 keys/);
    expect(report.failures.gone).toBe('no answer: read timeout');
    expect(report.failures.plain).toBe('this node has no keyring');
    expect(report.keys[id(50)]).toBe(2); // b and this node
    expect(b.keyring?.has(Buffer.alloc(32, 50))).toBe(true);
    expect(mesh.self?.has(Buffer.alloc(32, 50))).toBe(true);
  });
});

describe('KeyManager.run: use', () => {
  it('first asks every member what it holds, then makes the key primary everywhere', async () => {
    const mesh = new Mesh(ring(1, 2));
    const b = mesh.add('b', ring(1, 2));
    const c = mesh.add('c', ring(2, 1));
    const report = await mesh.manager().run('use', K(2));
    expect(report).toMatchObject({ op: 'use', nodes: 3, responded: 3, failures: {}, primaryKeys: { [id(2)]: 3 } });
    for (const r of [mesh.self, b.keyring, c.keyring]) expect(r?.primary.equals(Buffer.alloc(32, 2))).toBe(true);
    const ops = mesh.ops();
    expect(ops.slice(0, 2).sort()).toEqual(['list@b', 'list@c']);
    expect(ops.slice(2).sort()).toEqual(['use@b', 'use@c']);
    // Requests go out sealed with this node's primary: it switches only after the members did.
    expect(mesh.dials.every((d) => d.localKeys[0] === K(1))).toBe(true);
  });

  it('refuses, changing nothing anywhere, when a member lacks the key, naming it and saying what to do', async () => {
    const mesh = new Mesh(ring(1, 2));
    const b = mesh.add('b', ring(1, 2));
    const c = mesh.add('c', ring(1));
    const err = await refusal(mesh.manager().run('use', K(2)));
    expect(err).toBeInstanceOf(KeyOperationUnsafeError);
    expect((err as KeyOperationUnsafeError).code).toBe('HEARSAY_ERR_KEY_OPERATION_UNSAFE');
    expect(err.message).toBe(
      `keys use ${id(2)} refused, nothing changed: it would leave a node unable to talk to the mesh (c does not hold ${id(2)}): ` +
        'run `hearsay keys install` with it until every node holds it, or wait until unreachable nodes are back or declared dead',
    );
    expect(mesh.ops().every((o) => o.startsWith('list@'))).toBe(true);
    expect(mesh.self?.toBase64()).toEqual([K(1), K(2)]);
    expect(b.keyring?.toBase64()).toEqual([K(1), K(2)]);
    expect(c.keyring?.toBase64()).toEqual([K(1)]);
  });

  it('refuses when a member does not answer the check, or answers garbage', async () => {
    const mesh = new Mesh(ring(1, 2));
    mesh.add('b', ring(1, 2)).down = 'connect ECONNREFUSED';
    mesh.add('c', ring(1, 2)).answer = () => 'what?';
    const err = await refusal(mesh.manager().run('use', K(2)));
    expect(err).toBeInstanceOf(KeyOperationUnsafeError);
    expect(err.message).toContain('it would leave 2 nodes unable to talk to the mesh (b did not answer (connect ECONNREFUSED); c did not answer (not a key-operation answer))');
    expect(mesh.ops().every((o) => o.startsWith('list@'))).toBe(true);
  });

  it('lists at most ten problem nodes, sorted, and says how many there are', async () => {
    const mesh = new Mesh(ring(1, 2));
    for (let i = 11; i >= 0; i--) mesh.add(`m${String(i).padStart(2, '0')}`, ring(1));
    const err = await refusal(mesh.manager().run('use', K(2)));
    expect(err.message).toContain('it would leave 12 nodes unable to talk to the mesh (');
    const listed = /\((.*); \.\.\.\)/.exec(err.message)?.[1]?.split('; ');
    expect(listed).toEqual(Array.from({ length: 10 }, (_, i) => `m${String(i).padStart(2, '0')} does not hold ${id(2)}`));
  });

  it('reports a member that fails between the check and the change', async () => {
    const mesh = new Mesh(ring(1, 2));
    mesh.add('b', ring(1, 2));
    const c = mesh.add('c', ring(1, 2));
    let asked = 0;
    c.answer = (request) => {
      asked++;
      return asked === 1 ? c.side.handleRemote(request) : { ok: false, error: 'disk full', keys: c.keyring?.toBase64() };
    };
    const report = await mesh.manager().run('use', K(2));
    expect(report).toMatchObject({ nodes: 3, responded: 3, failures: { c: 'disk full' }, primaryKeys: { [id(2)]: 2, [id(1)]: 1 } });
  });
});

describe('KeyManager.run: remove', () => {
  it('removes the key everywhere once no node uses it as primary', async () => {
    const mesh = new Mesh(ring(2, 1));
    const b = mesh.add('b', ring(2, 1));
    const c = mesh.add('c', ring(2));
    const report = await mesh.manager().run('remove', K(1));
    expect(report).toEqual({ op: 'remove', nodes: 3, responded: 3, failures: {}, keys: { [id(2)]: 3 }, primaryKeys: { [id(2)]: 3 } });
    for (const r of [mesh.self, b.keyring, c.keyring]) expect(r?.toBase64()).toEqual([K(2)]);
    expect(mesh.ops().slice(0, 2).every((o) => o.startsWith('list@'))).toBe(true);
    expect(mesh.dials.every((d) => d.localKeys.includes(K(1)))).toBe(true); // removed here last
  });

  it('refuses, changing nothing anywhere, while a member still uses the key as its primary', async () => {
    const mesh = new Mesh(ring(2, 1));
    const b = mesh.add('b', ring(1, 2));
    const err = await refusal(mesh.manager().run('remove', K(1)));
    expect(err).toBeInstanceOf(KeyOperationUnsafeError);
    expect(err.message).toBe(
      `keys remove ${id(1)} refused, nothing changed: it would leave a node unable to talk to the mesh (b still uses ${id(1)} as its primary key): ` +
        'run `hearsay keys use` with the new key until every node reports it as primary, or wait until unreachable nodes are back or declared dead',
    );
    expect(mesh.self?.toBase64()).toEqual([K(2), K(1)]);
    expect(b.keyring?.toBase64()).toEqual([K(1), K(2)]);
  });

  it('a member that never held the key answers ok', async () => {
    const mesh = new Mesh(ring(2, 1));
    mesh.add('b', ring(2));
    expect((await mesh.manager().run('remove', K(1))).failures).toEqual({});
  });
});

describe('KeyManager.handleRemote', () => {
  it('applies another member’s request and answers with the keys, primary first', () => {
    const r = ring(1);
    const m = new KeyManager(r, 'me', () => [], () => Promise.reject(new Error('no dial')));
    expect(m.handleRemote({ op: 'list' })).toEqual({ ok: true, keys: [K(1)] });
    expect(m.handleRemote({ op: 'install', key: K(2) })).toEqual({ ok: true, keys: [K(1), K(2)] });
    expect(m.handleRemote({ op: 'use', key: K(2) })).toEqual({ ok: true, keys: [K(2), K(1)] });
    expect(m.handleRemote({ op: 'remove', key: K(1) })).toEqual({ ok: true, keys: [K(2)] });
  });

  const refusals: [string, unknown, RegExp][] = [
    ['removing its primary', { op: 'remove', key: K(1) }, /is the primary key/],
    ['using a key it lacks', { op: 'use', key: K(9) }, /is not installed on this node/],
    ['a bad key', { op: 'install', key: 'abc' }, /^key: the key decodes to 2 bytes/],
    ['no key', { op: 'install' }, /^key: the key is empty/],
    ['an unknown op', { op: 'rotate' }, /^unknown key operation "rotate"$/],
    ['no op', {}, /^unknown key operation undefined$/],
    ['a request that is not an object', 'list', /^malformed request$/],
    ['null', null, /^malformed request$/],
  ];

  it.each(refusals)('answers %s with an error and its unchanged keys, without throwing', (_what, request, error) => {
    const r = ring(1, 2);
    const m = new KeyManager(r, 'me', () => [], () => Promise.reject(new Error('no dial')));
    const answer = m.handleRemote(request);
    expect(answer).toEqual({ ok: false, error: expect.stringMatching(error), keys: [K(1), K(2)] });
    expect(r.toBase64()).toEqual([K(1), K(2)]);
  });

  it('answers that it has no keyring when encryption is off', () => {
    const m = new KeyManager(null, 'me', () => [], () => Promise.reject(new Error('no dial')));
    expect(m.handleRemote({ op: 'list' })).toEqual({ ok: false, error: 'this node has no keyring', keys: [] });
  });
});

describe('KeyManager and the keyring file', () => {
  it('rewrites the keyring file after every change, primary first', async () => {
    const file = join(tempDir(), 'ring.json');
    const mesh = new Mesh(ring(1));
    mesh.add('b', ring(1));
    const km = mesh.manager({ keyringFile: file });
    await km.run('install', K(2));
    await km.flush();
    expect(readKeyringFile(file).toBase64()).toEqual([K(1), K(2)]);
    await km.run('use', K(2));
    await km.flush();
    expect(readKeyringFile(file).toBase64()).toEqual([K(2), K(1)]);
    await km.run('remove', K(1));
    await km.flush();
    expect(readKeyringFile(file).toBase64()).toEqual([K(2)]);
  });

  it('follows changes another member makes through handleRemote', async () => {
    const file = join(tempDir(), 'ring.json');
    const km = new KeyManager(ring(1), 'me', () => [], () => Promise.reject(new Error('no dial')), { keyringFile: file });
    km.handleRemote({ op: 'install', key: K(3) });
    await km.flush();
    expect(readKeyringFile(file).toBase64()).toEqual([K(1), K(3)]);
  });

  it('writes the file at once with writeNow, and otherwise only on a change', async () => {
    const dir = tempDir();
    const now = new KeyManager(ring(4), 'me', () => [], () => Promise.reject(new Error('no dial')), { keyringFile: join(dir, 'now.json'), writeNow: true });
    await now.flush();
    expect(readKeyringFile(join(dir, 'now.json')).toBase64()).toEqual([K(4)]);
    const later = new KeyManager(ring(4), 'me', () => [], () => Promise.reject(new Error('no dial')), { keyringFile: join(dir, 'later.json') });
    await later.run('list');
    await later.run('install', K(4)); // already installed: no change
    await later.flush();
    expect(readdirSync(dir)).toEqual(['now.json']);
  });

  it('logs a failed save and keeps the change in memory', async () => {
    const { logger, lines } = capturingLogger();
    const file = join(tempDir(), 'missing-dir', 'ring.json');
    const self = ring(1);
    const km = new KeyManager(self, 'me', () => [], () => Promise.reject(new Error('no dial')), { keyringFile: file, logger });
    const report = await km.run('install', K(2));
    await km.flush();
    expect(report.failures).toEqual({});
    expect(self.toBase64()).toEqual([K(1), K(2)]);
    expect(lines.find((l) => l.level === 50)).toMatchObject({ msg: 'could not save the keyring file: the change holds until restart only', file });
    // The next change is saved once the file can be written: one failure does not stop saving.
    mkdirSync(dirname(file));
    await km.run('install', K(3));
    await km.flush();
    expect(readKeyringFile(file).toBase64()).toEqual([K(1), K(2), K(3)]);
  });
});
