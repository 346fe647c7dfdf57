import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dataDirProblem, ensureDataDir, makeSnapshot, readSnapshot, SnapshotWriter, snapshotPath } from '../../src/agent/data-dir.js';
import { loadAgentConfig } from '../../src/agent/config.js';
import { DamagedDataFileError, DataDirError } from '../../src/errors.js';
import { pino } from 'pino';
import type { MemberRecord } from '../../src/wire/messages.js';
import { Agents, waitFor } from './support.js';

const dirs: string[] = [];
const agents = new Agents();
afterEach(async () => {
  await agents.closeAll();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'hearsay-data-'));
  dirs.push(d);
  return d;
}

const record = (node: string, status: MemberRecord['status'], port: number): MemberRecord => ({
  node,
  addr: { host: '127.0.0.1', port },
  incarnation: 3,
  status,
  state: { payload: null },
});

describe('the data-dir snapshot', () => {
  it('keeps alive and suspect peers, not the node itself nor dead or left ones', () => {
    const snap = makeSnapshot('me', 7, [
      record('me', 'alive', 1),
      record('b', 'alive', 2),
      record('a', 'suspect', 3),
      record('c', 'dead', 4),
      record('d', 'left', 5),
    ]);
    expect(snap).toEqual({
      version: 1,
      name: 'me',
      incarnation: 7,
      peers: [
        { name: 'a', host: '127.0.0.1', port: 3, incarnation: 3 },
        { name: 'b', host: '127.0.0.1', port: 2, incarnation: 3 },
      ],
    });
  });

  it('is written atomically, read back, and not rewritten when unchanged', async () => {
    const dir = await tempDir();
    const w = new SnapshotWriter(join(dir, 'nested'));
    await w.prepare();
    const snap = makeSnapshot('me', 2, [record('b', 'alive', 2)]);
    expect(await w.write(snap)).toBe(true);
    expect(await w.write(snap)).toBe(false);
    expect(await readdir(join(dir, 'nested'))).toEqual(['peers.json']);
    expect(readSnapshot(join(dir, 'nested'))).toEqual({ kind: 'ok', snapshot: snap, path: snapshotPath(join(dir, 'nested')) });
  });

  it('reads a missing snapshot as none and a damaged one as invalid, saying why', async () => {
    const dir = await tempDir();
    expect(readSnapshot(dir)).toEqual({ kind: 'none' });
    await writeFile(snapshotPath(dir), '{"version":1,');
    expect(readSnapshot(dir)).toMatchObject({ kind: 'invalid', problem: expect.stringContaining('not JSON') });
    await writeFile(snapshotPath(dir), JSON.stringify({ version: 1, name: 'x', incarnation: -1, peers: [] }));
    expect(readSnapshot(dir)).toMatchObject({ kind: 'invalid', problem: expect.stringContaining('incarnation') });
    await writeFile(snapshotPath(dir), JSON.stringify({ version: 1, name: 'x', incarnation: 1, peers: [{ name: 'p', host: 'h', port: 0, incarnation: 0 }] }));
    expect(readSnapshot(dir)).toMatchObject({ kind: 'invalid', problem: expect.stringContaining('port') });
  });

  it('fails start() with a DataDirError when the directory cannot be created', async () => {
    const dir = await tempDir();
    const file = join(dir, 'a-file');
    await writeFile(file, 'not a directory');
    const a = agents.make('bad-dir', { dataDir: join(file, 'sub') });
    const err = await a.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirError);
    expect((err as DataDirError).code).toBe('HEARSAY_ERR_DATA_DIR');
    expect(a.state).toBe('closed');
  });

  it('is refreshed by a running agent when its view changes, and on close', async () => {
    const dir = await tempDir();
    const a = await agents.started('snap-a', { dataDir: dir, snapshotIntervalMs: 50 });
    const b = await agents.started('snap-b');
    await b.join([a.address]);
    await waitFor('the snapshot lists snap-b', () => {
      const r = readSnapshot(dir);
      return r.kind === 'ok' && r.snapshot.peers.some((p) => p.name === 'snap-b' && p.port === b.address.port);
    });
    await b.leave();
    await waitFor('snap-a saw snap-b leave', () => a.members().find((m) => m.name === 'snap-b')?.status === 'left');
    await a.close();
    const r = readSnapshot(dir);
    expect(r.kind === 'ok' && r.snapshot.incarnation).toBe(0);
    expect(r.kind === 'ok' && r.snapshot.peers.some((p) => p.name === 'snap-b')).toBe(false); // written on close: b has left
    expect(JSON.parse(await readFile(snapshotPath(dir), 'utf8'))).toMatchObject({ name: 'snap-a' });
  });

  it('ignores an unreadable snapshot and starts at incarnation 0', async () => {
    const dir = await tempDir();
    await writeFile(snapshotPath(dir), 'garbage');
    const a = agents.make('fresh', { dataDir: dir });
    expect(a.incarnation).toBe(0);
    await a.start();
    expect(await a.rejoin()).toBe(0);
  });
});

describe('DataDirError', () => {
  it('says which directory and what to do', () => {
    const e = new DataDirError('/x', Object.assign(new Error('nope'), { code: 'EACCES' }));
    expect(e.message).toContain('/x');
    expect(e.message).toContain('EACCES');
    expect(e.message).toContain('writable');
  });
});

describe('checking a data dir before starting', () => {
  it('accepts an existing writable directory and one that can be created under one', async () => {
    const d = await tempDir();
    expect(await dataDirProblem(d)).toBeUndefined();
    expect(await dataDirProblem(join(d, 'a', 'b'))).toBeUndefined();
    await ensureDataDir(join(d, 'a', 'b'));
    expect(await readdir(join(d, 'a'))).toEqual(['b']);
  });

  it('names the part of the path that is wrong', async () => {
    const d = await tempDir();
    await writeFile(join(d, 'file'), 'x');
    expect(await dataDirProblem(join(d, 'file'))).toBe(`${join(d, 'file')} exists and is not a directory`);
    expect(await dataDirProblem(join(d, 'file', 'sub'))).toBe(`${join(d, 'file')} is not a directory, so ${join(d, 'file', 'sub')} cannot be created in it`);
  });

  it('fails at once, never loops, where a directory cannot be made (/proc)', async () => {
    // Node's recursive mkdir never returns for this path; ours creates one level at a time.
    await expect(ensureDataDir('/proc/hearsay-not-here/sub')).rejects.toBeInstanceOf(DataDirError);
  });

  it('hearsay agent refuses a data dir that is a file before starting anything', async () => {
    const d = await tempDir();
    await writeFile(join(d, 'file'), 'x');
    await expect(loadAgentConfig({ dataDir: join(d, 'file') }, {})).rejects.toThrow(/--data-dir ".*file": .*file exists and is not a directory/);
  });
});

describe('a damaged data file is never silently replaced', () => {
  const damages: [string, string][] = [
    ['truncated', '{"version": 1, "services": [{"id": "a", "name": "a", "po'],
    ['garbage', '\u0000\u0001garbage\u00ff'],
    ['empty', ''],
    ['of another version', '{"version": 99, "services": []}'],
  ];

  it.each(damages)('a %s services.json stops the agent, naming the file and the fix, and is left as it was', async (_kind, text) => {
    const d = await tempDir();
    const file = join(d, 'services.json');
    await writeFile(file, text);
    let caught: unknown;
    try {
      agents.make('svc-damaged', { dataDir: d });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DamagedDataFileError);
    expect((caught as DamagedDataFileError).code).toBe('HEARSAY_ERR_DATA_DIR_DAMAGED');
    expect((caught as Error).message).toContain(`${file} is damaged`);
    expect((caught as Error).message).toContain(`mv ${file} ${file}.bad`);
    expect(await readFile(file, 'utf8')).toBe(text);
  });

  it.each(damages.slice(0, 3))('a %s peers.json is moved aside, logged at error, and the agent starts', async (_kind, text) => {
    const d = await tempDir();
    await writeFile(join(d, 'peers.json'), text);
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    const a = await agents.started('peers-damaged', { dataDir: d, logger });
    expect(a.state).toBe('running');
    const aside = (await readdir(d)).filter((n) => n.startsWith('peers.json.damaged-'));
    expect(aside).toHaveLength(1);
    expect(await readFile(join(d, aside[0] as string), 'utf8')).toBe(text);
    expect(lines.some((l) => l.level === 50 && String(l.msg).startsWith('the peer snapshot was damaged'))).toBe(true);
  });

  it('removes the temporary files an interrupted write left, and writes none that stay', async () => {
    const d = await tempDir();
    await writeFile(join(d, 'services.json.123.abcd.tmp'), '{"half');
    await writeFile(join(d, 'peers.json.9.ff.tmp'), '');
    await writeFile(join(d, 'unrelated.tmp'), 'mine');
    const a = await agents.started('tmp-clean', { dataDir: d });
    await a.registerDurably({ name: 'web', port: 1 });
    await a.close();
    expect((await readdir(d)).sort()).toEqual(['peers.json', 'services.json', 'unrelated.tmp']);
  });
});
