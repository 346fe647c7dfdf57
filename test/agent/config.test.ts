/**
 * `hearsay agent` configuration: precedence (defaults < file < env < flags)
 * and validation that reports every problem at once.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  InvalidConfigError,
  loadAgentConfig,
  resolveAgentConfig,
  settingsFromEnv,
  type ConfigFileInput,
  type ConfigInput,
} from '../../src/agent/config.js';

function problemsOf(input: ConfigInput): readonly string[] {
  try {
    resolveAgentConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect((err as InvalidConfigError).code).toBe('HEARSAY_ERR_INVALID_CONFIG');
    return (err as InvalidConfigError).problems;
  }
  throw new Error('expected an InvalidConfigError');
}

const file = (doc: unknown, path = '/etc/hearsay.json'): ConfigFileInput => ({ path, text: JSON.stringify(doc) });

describe('agent configuration', () => {
  it('uses the documented defaults when nothing is given', () => {
    const c = resolveAgentConfig({ flags: {}, env: {} });
    expect(c).toEqual({
      bind: { host: '127.0.0.1', port: 7946 },
      join: [],
      retryJoin: [],
      retryJoinIntervalMs: 30_000,
      retryJoinMax: 0,
      enableScriptChecks: false,
      http: { host: '127.0.0.1', port: 7947 },
      dns: { host: '127.0.0.1', port: 7953 },
      datacenter: 'dc1',
      profile: 'lan',
      logLevel: 'info',
      tags: {},
      membership: {},
      services: [],
      security: {},
      limits: {},
      sources: {
        name: 'default', bind: 'default', advertise: 'default', join: 'default', http: 'default', profile: 'default', dataDir: 'default', logLevel: 'default',
        dns: 'default', key: 'default', keyringFile: 'default', label: 'default', encryptTransition: 'default', httpToken: 'default', identityTransition: 'default',
        retryJoin: 'default', retryJoinIntervalMs: 'default', retryJoinMax: 'default', logFormat: 'default', enableScriptChecks: 'default',
        dnsDomain: 'default', datacenter: 'default', ca: 'default', cert: 'default', certKey: 'default', revocations: 'default', apiTokens: 'default',
      },
    });
  });

  it('takes --dns-domain and --datacenter for the Consul-compatible DNS and API, from flags, env or the file, and reports bad ones', () => {
    const c = resolveAgentConfig({ flags: { dnsDomain: 'Consul.' }, env: { HEARSAY_DATACENTER: 'east-1' } });
    expect([c.dnsDomain, c.datacenter, c.sources.dnsDomain, c.sources.datacenter]).toEqual(['consul', 'east-1', 'flag', 'env']);
    expect(resolveAgentConfig({ flags: {}, env: {}, file: file({ dnsDomain: 'mesh.example', datacenter: 'dc2' }) })).toMatchObject({ dnsDomain: 'mesh.example', datacenter: 'dc2' });
    expect(problemsOf({ flags: { dnsDomain: 'bad domain', datacenter: 'DC 1' }, env: {} })).toEqual([
      '--dns-domain "bad domain" is not a DNS domain: give one such as consul (then NAME.service.consul answers) or mesh.example',
      '--datacenter "DC 1": datacenter "DC 1" must be 1-63 lowercase letters, digits, "-" and "_" (a DNS label), e.g. "dc1"',
    ]);
  });

  it('takes --dns HOST:PORT or off, and reports a bad one', () => {
    expect(resolveAgentConfig({ flags: { dns: 'off' }, env: {} }).dns).toBeNull();
    expect(resolveAgentConfig({ flags: {}, env: { HEARSAY_DNS: '127.0.0.1:0' } }).dns).toEqual({ host: '127.0.0.1', port: 0 });
    expect(() => resolveAgentConfig({ flags: { dns: '127.0.0.1:99999' }, env: {} })).toThrow(/--dns "127.0.0.1:99999" has port 99999.*or "off"/);
  });

  it('reads services from the config file and reports every problem in them', () => {
    const good = resolveAgentConfig({
      flags: {},
      env: {},
      file: file({ services: [{ name: 'web', port: 8080, checks: [{ http: 'http://127.0.0.1:8080/health', interval: '5s' }] }] }),
    });
    expect(good.services).toEqual([{ name: 'web', port: 8080, checks: [{ http: 'http://127.0.0.1:8080/health', interval: '5s' }] }]);
    let problems: readonly string[] = [];
    try {
      resolveAgentConfig({
        flags: {},
        env: {},
        file: file({ services: [{ name: 'Web', port: 8080 }, { id: 'a', name: 'x', port: 1 }, { id: 'a', name: 'y', port: 2 }, { name: 'z', port: 1, checks: [{ ttl: 'later' }] }] }),
      });
    } catch (err) {
      problems = (err as InvalidConfigError).problems;
    }
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^"services"\[0\] in .*: service name "Web" is not a DNS label/);
    expect(problems[1]).toMatch(/"services"\[2\].*id "a" repeats/);
    expect(problems[2]).toMatch(/"services"\[3\].*ttl "later" must be a duration/);
    expect(() => resolveAgentConfig({ flags: {}, env: {}, file: file({ services: { web: 1 } }) })).toThrow(/"services" in .* must be an array/);
  });

  it('lets the config file override defaults, the environment override the file, and flags override both', () => {
    const input: ConfigInput = {
      file: file({ name: 'from-file', bind: '0.0.0.0:7000', advertise: '10.0.0.5', join: ['10.0.0.2:7946'], http: '127.0.0.1:9000', profile: 'wan', dataDir: '/var/lib/a', logLevel: 'debug', tags: { role: 'web' } }),
      env: { HEARSAY_NAME: 'from-env', HEARSAY_JOIN: '10.0.0.3:7946, [fd00::4]:7946,', HEARSAY_PROFILE: 'local', HEARSAY_LOG_LEVEL: '' },
      flags: { name: 'from-flag', join: ['10.0.0.9'] },
    };
    const c = resolveAgentConfig(input);
    expect(c.name).toBe('from-flag');
    expect(c.join).toEqual(['10.0.0.9:7946']);
    expect(c.profile).toBe('local');
    expect(c.bind).toEqual({ host: '0.0.0.0', port: 7000 });
    expect(c.advertise).toEqual({ host: '10.0.0.5', port: 7000 });
    expect(c.http).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(c.dataDir).toBe('/var/lib/a');
    expect(c.logLevel).toBe('debug'); // an empty HEARSAY_LOG_LEVEL counts as unset
    expect(c.tags).toEqual({ role: 'web' });
    expect(c.configFile).toBe('/etc/hearsay.json');
    expect(c.sources).toMatchObject({ name: 'flag', join: 'flag', profile: 'env', bind: 'config', logLevel: 'config' });

    const envOnly = resolveAgentConfig({ ...input, flags: {} });
    expect(envOnly.name).toBe('from-env');
    expect(envOnly.join).toEqual(['10.0.0.3:7946', '[fd00::4]:7946']);
  });

  it('reads every HEARSAY_* variable', () => {
    expect(
      settingsFromEnv({
        HEARSAY_NAME: 'n',
        HEARSAY_BIND: 'b',
        HEARSAY_ADVERTISE: 'a',
        HEARSAY_JOIN: 'j1,j2',
        HEARSAY_HTTP: 'h',
        HEARSAY_PROFILE: 'p',
        HEARSAY_DATA_DIR: 'd',
        HEARSAY_LOG_LEVEL: 'l',
        HEARSAY_OTHER: 'ignored',
      }),
    ).toEqual({ name: 'n', bind: 'b', advertise: 'a', join: ['j1', 'j2'], http: 'h', profile: 'p', dataDir: 'd', logLevel: 'l' });
  });

  it('reports every problem in every source at once, each naming where it came from', () => {
    const problems = problemsOf({
      flags: { bind: '127.0.0.1:99999', join: ['10.0.0.1:1', '::1:2'], name: 'has space' },
      env: { HEARSAY_PROFILE: 'moon', HEARSAY_HTTP: 'localhost:http', HEARSAY_ADVERTISE: '0.0.0.0:7946' },
      file: file({ logLevel: 'loud', 'data-dir': '/x', tags: { a: 1 }, membership: { gossipNodes: 100 }, dataDir: 5 }, 'agent.json'),
    });
    expect(problems).toEqual([
      'unknown key "data-dir" in agent.json: did you mean "dataDir"?',
      '"tags" in agent.json has "a": 1: tag values must be strings',
      '"dataDir" in agent.json must be a string (got 5)',
      '--name "has space" contains whitespace or control characters: use e.g. letters, digits, "-", "_" and "."',
      expect.stringMatching(/^--bind "127\.0\.0\.1:99999" has port 99999, outside 0-65535/),
      expect.stringMatching(/^HEARSAY_ADVERTISE="0\.0\.0\.0:7946" is not an address other nodes can reach/),
      expect.stringMatching(/^HEARSAY_HTTP="localhost:http" has port "http", which is not a number/),
      expect.stringMatching(/^--join "::1:2" looks like an IPv6 address without brackets/),
      'HEARSAY_PROFILE="moon" is not a profile: use lan (datacenter), wan (across regions) or local (fast timers, one machine)',
      '"logLevel": "loud" in agent.json is not a log level: use one of fatal, error, warn, info, debug, trace, silent',
      '"membership" in agent.json: gossipNodes must be an integer in [0, 64] (got 100)',
    ]);
  });

  it('says what to do in the error message, listing the problems', () => {
    try {
      resolveAgentConfig({ flags: { profile: 'x', logLevel: 'y' }, env: {} });
      throw new Error('unreachable');
    } catch (err) {
      expect((err as Error).message).toMatch(/^invalid agent configuration \(2 problems\):\n {2}- --profile "x" is not a profile/);
      expect((err as Error).message).toMatch(/fix them and start again \(flags win over HEARSAY_\* environment variables, which win over the --config file\)$/);
    }
  });

  it('reports a config file that is not JSON, or not an object, alongside other problems', () => {
    expect(problemsOf({ flags: { bind: 'x:' }, env: {}, file: { path: 'c.json', text: '{"name": ' } })).toEqual([
      expect.stringMatching(/^c\.json is not valid JSON( at position \d+)?: fix the syntax/),
      expect.stringMatching(/^--bind "x:" has port "", which is not a number/),
    ]);
    expect(problemsOf({ flags: {}, env: {}, file: { path: 'c.json', text: '[1]' } })).toEqual([expect.stringMatching(/^c\.json must hold a JSON object/)]);
    // The parser's message quotes the text near the error (a key, perhaps): it is not repeated.
    const secret = 'c2VjcmV0LWtleS1tYXRlcmlhbC0xMjM0NTY3ODkwMTI=';
    expect(problemsOf({ flags: {}, env: {}, file: { path: 'c.json', text: `{"key": "${secret}",]` } }).join('\n')).not.toContain(secret.slice(0, 10));
    expect(problemsOf({ flags: {}, env: {}, file: file({ join: '10.0.0.1:1' }) })).toEqual([
      '"join" in /etc/hearsay.json must be an array of "HOST:PORT" (or "dns+srv:NAME") strings, e.g. ["10.0.0.2:7946"]',
    ]);
  });

  it('reads the config file from disk and reports one that does not exist', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-config-'));
    const path = join(dir, 'agent.json');
    writeFileSync(path, JSON.stringify({ name: 'disk', membership: { probeIntervalMs: 2000 } }));
    const c = await loadAgentConfig({ config: path }, {});
    expect(c.name).toBe('disk');
    expect(c.membership).toEqual({ probeIntervalMs: 2000 });
    await expect(loadAgentConfig({ config: join(dir, 'missing.json'), profile: 'moon' }, {})).rejects.toMatchObject({
      problems: [expect.stringMatching(/^--config ".*missing\.json" does not exist: give the path of a JSON file$/), expect.stringMatching(/^--profile "moon"/)],
    });
  });
});

describe('identity and API token settings', () => {
  it('takes --ca/--cert/--cert-key/--revocations and --api-tokens from flags, env and the config file', () => {
    const file: ConfigFileInput = { path: 'agent.json', text: JSON.stringify({ ca: '/etc/hearsay/ca.crt', cert: '/etc/hearsay/web-1.crt', certKey: '/etc/hearsay/web-1.key', apiTokens: '/etc/hearsay/tokens.json' }) };
    const c = resolveAgentConfig({ flags: { certKey: '/flag/web-1.key' }, env: { HEARSAY_REVOCATIONS: '/env/rev.json' }, file });
    expect(c.identityFiles).toEqual({ ca: '/etc/hearsay/ca.crt', cert: '/etc/hearsay/web-1.crt', certKey: '/flag/web-1.key', revocations: '/env/rev.json' });
    expect(c.apiTokensFile).toBe('/etc/hearsay/tokens.json');
    const e = resolveAgentConfig({ flags: {}, env: { HEARSAY_CA: 'a', HEARSAY_CERT: 'b', HEARSAY_CERT_KEY: 'c', HEARSAY_API_TOKENS: 't' } });
    expect(e.identityFiles).toEqual({ ca: 'a', cert: 'b', certKey: 'c' });
    expect(e.apiTokensFile).toBe('t');
    expect(resolveAgentConfig({ flags: {}, env: {} }).identityFiles).toBeUndefined();
  });

  it('needs the three certificate files together, and the revocation list only with them', () => {
    expect(problemsOf({ flags: { cert: 'b' }, env: {} })).toEqual([expect.stringMatching(/needs --ca, --cert and --cert-key together: also give --ca and --cert-key/) as unknown]);
    expect(problemsOf({ flags: { revocations: 'r' }, env: {} })).toEqual([expect.stringMatching(/--revocations needs a node identity/) as unknown]);
  });

  it('lets the API listen beyond loopback with a tokens file, as with --http-token', () => {
    expect(problemsOf({ flags: { http: '0.0.0.0:7947' }, env: {} })).toEqual([expect.stringMatching(/or --api-tokens FILE/) as unknown]);
    expect(resolveAgentConfig({ flags: { http: '0.0.0.0:7947', apiTokens: 't.json' }, env: {} }).http.host).toBe('0.0.0.0');
  });
});

describe('the identity transition setting', () => {
  it('takes --identity-transition (and HEARSAY_IDENTITY_TRANSITION) with a node identity, and refuses it without one or with another step', () => {
    const identity = { ca: 'ca.crt', cert: 'n.crt', certKey: 'n.key' };
    expect(resolveAgentConfig({ flags: { ...identity, identityTransition: 'accept-unsigned' }, env: {} }).identityTransition).toBe('accept-unsigned');
    expect(resolveAgentConfig({ flags: identity, env: { HEARSAY_IDENTITY_TRANSITION: 'send-unsigned' } }).identityTransition).toBe('send-unsigned');
    expect(problemsOf({ flags: { identityTransition: 'send-unsigned' }, env: {} })).toEqual(['--identity-transition "send-unsigned" needs a node identity: also give --ca, --cert and --cert-key']);
    expect(problemsOf({ flags: { ...identity, identityTransition: 'sometimes' }, env: {} })).toEqual(['--identity-transition "sometimes" is not a transition step: use send-unsigned (step 1 of a rollout), accept-unsigned (step 2) or off']);
  });
});
