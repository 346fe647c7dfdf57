import { describe, expect, it } from 'vitest';
import { resolveAgentConfig } from '../../src/agent/config.js';
import { agentLimits } from '../../src/cli/commands/security-flags.js';
import { createAgent } from '../../src/agent/agent.js';
import { resolveAgentOptions } from '../../src/agent/options.js';
import { encodeMessage, encodePacket } from '../../src/wire/codec.js';
import { Hand } from '../membership/harness.js';

const file = (doc: unknown) => ({ path: '/etc/hearsay.json', text: JSON.stringify(doc) });

describe('limits', () => {
  it('a peer state over maxPayloadBytes is dropped whole and counted', () => {
    const h = new Hand({ maxPayloadBytes: 16 });
    const a = h.add('a');
    const big = encodePacket([encodeMessage({ type: 'alive', node: 'z', addr: { host: 'h', port: 9 }, incarnation: 1, state: { payload: new Uint8Array(100) } })]);
    const small = encodePacket([encodeMessage({ type: 'alive', node: 'y', addr: { host: 'h', port: 8 }, incarnation: 1, state: { payload: new Uint8Array(16) } })]);
    a.handlePacket({ host: 'h', port: 9 }, big, 'datagram', 0);
    a.handlePacket({ host: 'h', port: 8 }, small, 'datagram', 0);
    expect(a.members().map((m) => m.name).sort()).toEqual(['a', 'y']);
    expect(a.counters['dropped.invalid-message']).toBe(1);
  });

  it('reads every limit from the config file "limits" object and reports unknown or bad ones', () => {
    const c = resolveAgentConfig({
      flags: {},
      env: {},
      file: file({ limits: { maxDatagramBytes: 9000, maxInboundConnections: 8, maxConnectionBytes: 40_000_000, httpMaxBodyBytes: 1024, httpMaxRequestsPerSecond: 5, tcpConnectTimeoutMs: 1000, tcpReadTimeoutMs: 2000 } }),
    });
    expect(agentLimits(c.limits)).toEqual({ limits: { maxDatagramBytes: 9000, maxInboundConnections: 8, maxConnectionBytes: 40_000_000 }, tcpConnectTimeoutMs: 1000, tcpReadTimeoutMs: 2000 });
    expect(() => resolveAgentConfig({ flags: {}, env: {}, file: file({ limits: { maxSockets: 3, maxInboundConnections: -1 } }) })).toThrow(
      /unknown key "limits.maxSockets".*known limits are[\s\S]*"limits.maxInboundConnections" in \/etc\/hearsay.json must be a positive integer/,
    );
  });

  it('createAgent reports impossible limits and security options all at once', () => {
    expect(() =>
      createAgent({
        limits: { maxDatagramBytes: 100, maxInboundConnections: 0, maxConnectionBytes: 10 },
        security: { keys: ['short'], label: 'x'.repeat(300) },
      }),
    ).toThrow(/invalid options \(5\)/);
    try {
      createAgent({ limits: { maxDatagramBytes: 100, maxInboundConnections: 0, maxConnectionBytes: 10 }, security: { keys: ['short'], label: 'x'.repeat(300) } });
    } catch (err) {
      const problems = (err as { problems: string[] }).problems.join('\n');
      for (const what of ['maxDatagramBytes', 'maxInboundConnections', 'maxConnectionBytes', 'security.label', 'security.keys[0]']) expect(problems).toContain(what);
    }
    expect(() => createAgent({ security: { keyringFile: '/nonexistent/ring.json' } })).toThrow(/does not exist: create it with `hearsay keygen --keyring-file/);
    expect(() => createAgent({ security: { transition: 'accept-plaintext' } })).toThrow(/needs a key/);
  });
});

describe('the datagram budget covers the envelope', () => {
  it('an encrypted agent leaves room for the nonce, tag and label inside maxPacketBytes', async () => {
    // Since protocol 3 no agent option fills an alive (tags are a state entry), so the budget is
    // read where the agent hands it to the core: the datagram and stream limits less the envelope.
    const { generateKey } = await import('../../src/security/keyring.js');
    const core = (security?: object): { maxPacketBytes: number; maxStreamBytes: number } =>
      resolveAgentOptions(security === undefined ? {} : { security }).membership;
    const plain = core();
    expect(plain.maxPacketBytes).toBe(1400);
    expect(core({ keys: [generateKey()] }).maxPacketBytes).toBe(plain.maxPacketBytes - 29); // 1 type byte + 12 nonce + 16 tag
    expect(core({ keys: [generateKey()], label: 'prod' }).maxPacketBytes).toBe(plain.maxPacketBytes - 29 - 6); // + 2 + 4 label bytes
    expect(core({ keys: [generateKey()] }).maxStreamBytes).toBe(plain.maxStreamBytes - 29);
  });
});
