/** A real agent with a certificate identity: its name, the services it may register, renewal. */
import { describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agent/agent.js';
import { checkIdentity, IdentityError } from '../../src/identity/identity.js';
import { ServiceNotAllowedError } from '../../src/errors.js';
import { DAY, testCa, testNodeCert } from '../identity/support.js';

const ca = testCa();
const identityFor = (node: string, services: readonly string[], notAfterMs = Date.now() + 7 * DAY) => {
  const n = testNodeCert(ca, { node, services, notAfterMs });
  return checkIdentity({ ca: ca.cert, cert: n.cert, key: n.key }, node, Date.now());
};

describe('an agent with a certificate identity', () => {
  it('takes its name from the certificate and refuses another', () => {
    const id = identityFor('web-1', ['billing']);
    const agent = createAgent({ identity: id, bind: { host: '127.0.0.1', port: 0 } });
    expect(agent.name).toBe('web-1');
    expect(agent.identity?.fingerprint).toBe(id.fingerprint);
    expect(() => createAgent({ name: 'web-2', identity: id })).toThrow(/for the node "web-1", not "web-2"/);
  });

  it('refuses to register a service its certificate does not allow, with a clear error, and publishes nothing', async () => {
    const agent = createAgent({ identity: identityFor('web-1', ['billing', 'api-*']), bind: { host: '127.0.0.1', port: 0 } });
    await agent.start();
    try {
      const before = agent.incarnation;
      let err: unknown;
      try {
        agent.register({ name: 'payments', port: 8080 });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ServiceNotAllowedError);
      expect((err as ServiceNotAllowedError).code).toBe('HEARSAY_ERR_SERVICE_NOT_ALLOWED');
      expect((err as Error).message).toMatch(/does not allow registering the service "payments": it allows billing, api-\*; issue a certificate that names it/);
      await expect(agent.registerDurably({ name: 'payments', port: 8080 })).rejects.toThrow(ServiceNotAllowedError);
      expect(agent.localServices()).toEqual([]);
      expect(agent.lookup('payments', { status: 'any' })).toEqual([]);
      expect(agent.incarnation).toBe(before);
      expect(agent.counters()['services.publishes']).toBe(0);
      agent.register({ name: 'api-gateway', port: 8081 });
      agent.register({ name: 'billing', port: 8082 });
      expect(agent.localServices().map((s) => s.record.name).sort()).toEqual(['api-gateway', 'billing']);
    } finally {
      await agent.close();
    }
  });

  it('shows the seconds to expiry among its counters', () => {
    const agent = createAgent({ identity: identityFor('web-1', [], Date.now() + DAY) });
    const left = agent.counters()['identity.expirySeconds'] as number;
    expect(left).toBeGreaterThan(DAY / 1000 - 120);
    expect(left).toBeLessThanOrEqual(DAY / 1000);
    expect(createAgent({}).counters()['identity.expirySeconds']).toBeUndefined();
  });

  it('renews without a restart, refusing a certificate for another node or one that drops a registered service', () => {
    const agent = createAgent({ identity: identityFor('web-1', ['billing', 'api-*']) });
    agent.register({ name: 'billing', port: 1 });
    const renewed = identityFor('web-1', ['billing']);
    agent.setIdentity(renewed);
    expect(agent.identity?.fingerprint).toBe(renewed.fingerprint);
    expect(() => agent.register({ name: 'api-x', port: 2 })).toThrow(ServiceNotAllowedError);
    expect(() => agent.setIdentity(identityFor('web-2', ['billing']))).toThrow(IdentityError);
    let err: unknown;
    try {
      agent.setIdentity(identityFor('web-1', ['api-*']));
    } catch (e) {
      err = e;
    }
    expect((err as IdentityError).problem).toBe('services-in-use');
    expect((err as Error).message).toMatch(/does not allow "billing", registered on this node: deregister it first/);
    expect(agent.identity?.fingerprint).toBe(renewed.fingerprint);
  });

  it('without an identity, registers any service as before', () => {
    const agent = createAgent({});
    agent.register({ name: 'anything', port: 1 });
    expect(agent.identity).toBeUndefined();
    expect(agent.localServices()).toHaveLength(1);
  });
});
