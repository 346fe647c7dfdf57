/**
 * GET /v1/members on a real agent: the encoded answer is kept between calls (by the agent's
 * membersVersion()) and is made again whenever the list changes: a join, a tag change, a leave.
 * And the join warm-up's POST /v1/join through a throwaway server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, warmUpJoinOverHttp, type HttpServer } from '../../src/api/server.js';
import { Agents, waitFor } from '../agent/support.js';
import type { Address } from '../../src/wire/messages.js';
import { call } from './http-support.js';

const agents = new Agents();
let server: HttpServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
  await agents.closeAll();
});

interface Row {
  readonly name: string;
  readonly status: string;
  readonly tags: Record<string, string>;
}

async function list(api: Address): Promise<Row[]> {
  const res = await call(api, '/v1/members');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.text));
  return res.json() as Row[];
}

describe('GET /v1/members on a real agent', () => {
  it('answers what members() lists, through joins, tag changes and a leave, and the same bytes while nothing changed', async () => {
    const a = await agents.started('a');
    const b = await agents.started('b');
    const c = await agents.started('c');
    server = createHttpServer(a);
    const api = await server.listen({ host: '127.0.0.1', port: 0 });
    const same = (rows: Row[]): void => expect(rows).toEqual(JSON.parse(JSON.stringify(a.members())));

    same(await list(api));
    const first = (await call(api, '/v1/members')).text;
    expect((await call(api, '/v1/members')).text).toBe(first);
    expect(a.membersVersion()).toBe(a.membersVersion());

    const v0 = a.membersVersion();
    await b.join([a.address]);
    expect(a.membersVersion()).not.toBe(v0);
    const afterJoin = await list(api);
    same(afterJoin);
    expect(afterJoin.map((r) => r.name).sort()).toEqual(['a', 'b']);

    await c.join([b.address]);
    await waitFor('a lists c', () => a.members().some((m) => m.name === 'c'));
    expect((await list(api)).map((r) => r.name).sort()).toEqual(['a', 'b', 'c']);

    a.setTags({ role: 'web' });
    const tagged = await list(api);
    same(tagged);
    expect(tagged.find((r) => r.name === 'a')?.tags).toEqual({ role: 'web' });

    await c.leave({ timeoutMs: 2000 });
    await waitFor('a lists c left', () => a.members().find((m) => m.name === 'c')?.status === 'left');
    const left = await list(api);
    same(left);
    expect(left.find((r) => r.name === 'c')?.status).toBe('left');
  });

  it('the version before start is not one the started agent shows again', async () => {
    const a = agents.make('a');
    const before = a.membersVersion();
    await a.start();
    expect(a.membersVersion()).not.toBe(before);
  });
});

describe('the join warm-up through the HTTP API', () => {
  it("joins the throwaway joiner through a throwaway API server's POST /v1/join, and closes that server", async () => {
    const seed = await agents.started('warm-seed');
    const joiner = await agents.started('warm-joiner');
    await warmUpJoinOverHttp(joiner, seed.address);
    expect(joiner.members().map((m) => m.name).sort()).toEqual(['warm-joiner', 'warm-seed']);
    expect(seed.members().map((m) => m.name).sort()).toEqual(['warm-joiner', 'warm-seed']);
  });
});
