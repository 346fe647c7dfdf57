/**
 * The comparison harness's own parts (bench/harness/): the msgpack stream splitting of the Serf
 * RPC client, the client against a real `serf agent` (skipped without Debian's serf, failing
 * under CI=true), and the observer's conditions over fake agents.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { pack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { MsgpackStreamDecoder, SerfRpcClient } from '../../bench/harness/serf-rpc.js';
import { Observer } from '../../bench/harness/observer.js';
import type { AgentApi } from '../../bench/harness/systems.js';
import { freeLoopbackPort } from '../../src/cluster/ports.js';

describe('MsgpackStreamDecoder', () => {
  it('returns each value once it is complete, whatever the chunking', () => {
    const values = [{ Seq: 0, Error: '' }, { Members: [{ Name: 'a', Status: 'alive', Addr: Buffer.from([127, 0, 0, 1]) }] }, { Seq: 1, Error: 'boom' }];
    const bytes = Buffer.concat(values.map((v) => pack(v)));
    for (const size of [1, 2, 3, 7, bytes.length]) {
      const d = new MsgpackStreamDecoder();
      const out: unknown[] = [];
      for (let i = 0; i < bytes.length; i += size) out.push(...d.push(bytes.subarray(i, i + size)));
      expect(out.map((v) => JSON.stringify(v))).toEqual(values.map((v) => JSON.stringify(v)));
    }
  });

  it('throws on bytes it cannot read (an unknown extension type)', () => {
    expect(() => new MsgpackStreamDecoder().push(Buffer.from([0xd4, 0x01, 0x00]))).toThrow();
  });
});

const hasSerf = spawnSync('serf', ['version'], { stdio: 'ignore' }).status === 0;
if (!hasSerf && process.env.CI === 'true') throw new Error('serf is not installed: .ci/deps installs it (apt-get install serf)');

describe.skipIf(!hasSerf)('SerfRpcClient against serf agent', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  async function agent(name: string): Promise<{ bind: string; rpc: SerfRpcClient }> {
    const bind = `127.0.0.1:${await freeLoopbackPort()}`;
    const rpcPort = await freeLoopbackPort();
    children.push(spawn('serf', ['agent', `-node=${name}`, `-bind=${bind}`, `-rpc-addr=127.0.0.1:${rpcPort}`], { stdio: 'ignore' }));
    for (let i = 0; i < 400; i++) {
      try {
        return { bind, rpc: await SerfRpcClient.connect('127.0.0.1', rpcPort) };
      } catch {
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    throw new Error(`serf agent ${name} did not answer RPC`);
  }

  it('handshakes, lists members, joins and leaves over one connection each', async () => {
    const a = await agent('a');
    const b = await agent('b');
    expect(await a.rpc.members()).toEqual(new Map([['a', 'alive']]));
    expect(await b.rpc.join([a.bind])).toBe(1);
    let view = new Map<string, string>();
    for (let i = 0; i < 100 && view.get('b') !== 'alive'; i++) {
      view = await a.rpc.members();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(view.get('b')).toBe('alive');
    await b.rpc.leave();
    for (let i = 0; i < 100 && view.get('b') !== 'left'; i++) {
      view = await a.rpc.members();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(view.get('b')).toBe('left');
    a.rpc.close();
    b.rpc.close();
  });

  it('reports an RPC error as a rejection naming the command', async () => {
    const a = await agent('a');
    await expect(a.rpc.call('no-such-command')).rejects.toThrow(/serf no-such-command: /);
    a.rpc.close();
  });
});

describe('Observer', () => {
  function fake(view: () => Map<string, string>): AgentApi {
    return {
      members: () => Promise.resolve(view()),
      join: () => Promise.resolve(1),
      leave: () => Promise.resolve(),
      connections: () => 1,
      close: () => undefined,
    };
  }

  it('meets an all-condition only when every named view holds it, and an any-condition when one does', async () => {
    let bSeesC = false;
    const apis = new Map([
      ['a', fake(() => new Map([['c', 'alive']]))],
      ['b', fake(() => new Map([['c', bSeesC ? 'alive' : 'suspect']]))],
    ]);
    const o = new Observer(apis, 10);
    o.start();
    expect(await o.waitAny(['b'], (v) => v.get('c') === 'suspect', 5000)).not.toBeNull();
    const all = o.waitAll(['a', 'b'], (v) => v.get('c') === 'alive', 5000);
    const onlyA = await o.waitAll(['a'], (v) => v.get('c') === 'alive', 5000);
    expect(onlyA).not.toBeNull();
    bSeesC = true;
    const at = await all;
    expect(at).not.toBeNull();
    expect(at as number).toBeGreaterThanOrEqual(onlyA as number);
    await o.stop();
  });

  it('times out with null, and a dropped agent no longer counts', async () => {
    const apis = new Map([
      ['a', fake(() => new Map([['x', 'alive']]))],
      ['b', fake(() => new Map())],
    ]);
    const o = new Observer(apis, 10);
    o.start();
    expect(await o.waitAll(['a', 'b'], (v) => v.get('x') === 'alive', 200)).toBeNull();
    o.drop('b');
    expect(await o.waitAny(['b'], () => true, 200)).toBeNull();
    await o.stop();
  });
});
