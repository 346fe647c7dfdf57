import { keyIdOfBase64 } from '../../src/security/keyring.js';
/**
 * `hearsay agent` with the security flags, in-process with real agents: the flags reach the
 * agent's keyring and the HTTP API (token, key routes), and secrets never appear in errors.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agent/agent.js';
import { resolveAgentConfig } from '../../src/agent/config.js';
import type { HttpServer } from '../../src/api/server.js';
import type { Agent } from '../../src/agent/types.js';
import { defaultAgentFlags, runAgent, type AgentFlags } from '../../src/cli/commands/agent.js';
import { generateKey } from '../../src/security/keyring.js';
import { call, json } from '../api/http-support.js';
import { capture } from '../cli/support.js';
import { waitFor } from '../agent/support.js';

const noFlags: AgentFlags = { ...defaultAgentFlags(), bind: '127.0.0.1:0', http: '127.0.0.1:0', dns: 'off', profile: 'local', 'log-level': 'silent' };
const TOKEN = 'token-token-token-token';
const stops: (() => Promise<number>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function startAgent(flags: Partial<AgentFlags>, env: Record<string, string> = {}): Promise<{ agent: Agent; http: HttpServer; done: Promise<number> }> {
  const signals = new EventEmitter();
  let ready: (r: { agent: Agent; http: HttpServer }) => void = () => undefined;
  const up = new Promise<{ agent: Agent; http: HttpServer }>((r) => (ready = r));
  const done = runAgent({ ...noFlags, ...flags }, capture(), { env, createAgent, signals, exit: () => undefined, onReady: (r) => ready(r) });
  const r = await Promise.race([up, done.then((code) => Promise.reject(new Error(`agent exited ${code}`)))]);
  stops.push(() => {
    signals.emit('SIGTERM', 'SIGTERM');
    return done;
  });
  return { ...r, done };
}

describe('hearsay agent with security flags', () => {
  it('--keyring-file, --label and --http-token reach the agent and the key routes; the file follows rotations', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-agent-keys-'));
    const ring = join(dir, 'ring.json');
    const k1 = generateKey();
    const k2 = generateKey();
    const a = await startAgent({ name: 'cmd-a', 'keyring-file': ring, key: k1, label: 'cmd', 'http-token': TOKEN });
    const b = await startAgent({ name: 'cmd-b', label: 'cmd' }, { HEARSAY_KEY: k1 });
    await a.agent.join([b.agent.address]);
    const api = a.http.address;
    if (api === undefined) throw new Error('no http address');
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await call(api, '/v1/keys')).status).toBe(401);
    const list = await call(api, '/v1/keys', { headers: auth });
    expect(list.json()).toMatchObject({ nodes: 2, responded: 2, keys: { [keyIdOfBase64(k1)]: 2 } });
    const install = await call(api, '/v1/keys/install', { ...json({ key: k2 }), headers: { ...json({}).headers, ...auth } });
    expect(install.json()).toMatchObject({ nodes: 2, failures: {}, keys: { [keyIdOfBase64(k1)]: 2, [keyIdOfBase64(k2)]: 2 } });
    await waitFor('keyring file rewritten', () => readFileSync(ring, 'utf8').includes(k2));
    expect(JSON.parse(readFileSync(ring, 'utf8'))).toEqual([k1, k2]);
  });

  it('never echoes a bad key or token in its errors', () => {
    const secret = 'c2VjcmV0LXNlY3JldA==';
    let message = '';
    try {
      resolveAgentConfig({ flags: { key: secret, httpToken: 'shhh' }, env: { HEARSAY_LABEL: 'x'.repeat(300) } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/--key: the key decodes to 13 bytes/);
    expect(message).toMatch(/--http-token must be at least 16 characters/);
    expect(message).toMatch(/HEARSAY_LABEL=.* is longer than 255 bytes/);
    expect(message).not.toContain(secret);
    expect(message).not.toContain('shhh');
    const fromEnv = resolveAgentConfig({ flags: {}, env: { HEARSAY_KEY: generateKey(), HEARSAY_ENCRYPT_TRANSITION: 'accept-plaintext' } });
    expect(fromEnv.security.transition).toBe('accept-plaintext');
    expect(fromEnv.sources.key).toBe('env');
    expect(() => resolveAgentConfig({ flags: { encryptTransition: 'sometimes' }, env: {} })).toThrow(/not a transition step: use send-plaintext/);
  });
});
