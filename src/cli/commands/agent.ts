/**
 * `hearsay agent`: runs an agent in the foreground. Settings come from the flags, else HEARSAY_*
 * environment variables, else a JSON --config file, else defaults (src/agent/config.ts), all
 * validated together. Logs go to stderr, as text on a terminal and JSON lines otherwise
 * (--log-format); one line on stdout says it is ready:
 *
 *   hearsay agent <name> listening on <gossip addr> (http <http addr>) (dns <dns addr>)
 *
 * --join seeds get a few attempts once it is ready; if none answers it exits 1 with each seed's
 * reason (as Serf does), unless --retry-join seeds are given, which it keeps trying with backoff
 * (re-resolving names every round) until one answers or --retry-join-max rounds failed (exit 1).
 * SIGINT or SIGTERM make it leave gracefully and exit 0; a second signal exits at once (128 + the
 * signal number); POST /v1/leave does the same as a signal. SIGHUP (or POST /v1/agent/reload)
 * rereads the config file: services and checks, tags and the log level, without leaving the mesh.
 * When DNS was not asked for and its default port is taken (another agent on this host), it warns
 * and runs without DNS.
 */
import type { Logger } from '../../log/logger.js';
import { createAgent } from '../../agent/agent.js';
import { AGENT_DEFAULTS } from '../../agent/defaults.js';
import { dnsCounterValues } from '../../agent/counters.js';
import { InvalidConfigError, loadAgentConfig, LOG_LEVELS, type AgentConfig, type AgentFlagSettings } from '../../agent/config.js';
import { retryJoin } from '../../agent/retry-join.js';
import type { ReloadReport } from '../../api/context.js';
import { ConfigServices } from '../config-services.js';
import { LogOutput } from '../log-output.js';
import { formatHostPort, isLoopbackHost } from '../../transport/address.js';
import { createHttpServer, type HttpServer } from '../../api/server.js';
import { createDnsServer, type DnsServer } from '../../dns/server.js';
import { DnsMetrics } from '../../dns/metrics.js';
import type { Agent, AgentOptions } from '../../agent/types.js';
import { HearsayError, JoinError, type SeedFailure } from '../../errors.js';
import type { Command, FlagValues, Io } from '../command.js';
import { parseFlags } from '../parser.js';
import { agentLimits, dnsLimitOptions, httpSecurityOptions, securityFlags, securitySettingsFromFlags } from './security-flags.js';
import { IdentityRuntime, loadStartIdentity } from './identity-setup.js';

const flags = {
  name: { type: 'string', placeholder: 'NAME', description: 'unique node name (default: host name plus a random suffix; $HEARSAY_NAME)' },
  bind: { type: 'string', placeholder: 'HOST:PORT', description: `UDP and TCP listen address, port 0 for any (default ${formatHostPort(AGENT_DEFAULTS.bind)}; $HEARSAY_BIND)` },
  advertise: {
    type: 'string',
    placeholder: 'HOST:PORT',
    description: 'address other nodes use to reach this one, for NAT and containers (default: the bound address; $HEARSAY_ADVERTISE)',
  },
  join: {
    type: 'string',
    repeatable: true,
    placeholder: 'HOST:PORT',
    description: 'gossip address of an agent to join through ($HEARSAY_JOIN, comma-separated)',
  },
  http: { type: 'string', placeholder: 'HOST:PORT', description: `HTTP API listen address, port 0 for any (default ${formatHostPort(AGENT_DEFAULTS.http)}; $HEARSAY_HTTP)` },
  dns: {
    type: 'string',
    placeholder: 'HOST:PORT|off',
    description: `DNS interface (UDP and TCP) listen address, or off (default ${formatHostPort(AGENT_DEFAULTS.dns)}; $HEARSAY_DNS)`,
  },
  'dns-domain': {
    type: 'string',
    placeholder: 'DOMAIN',
    description: 'also answer DNS under DOMAIN in Consul\'s forms (NAME.service.DOMAIN, NODE.node.DOMAIN, with or without the datacenter label), e.g. consul ($HEARSAY_DNS_DOMAIN)',
  },
  datacenter: { type: 'string', placeholder: 'DC', description: 'the datacenter the Consul-compatible API and DNS name, answering ?dc= for it (default dc1; $HEARSAY_DATACENTER)' },
  profile: { type: 'string', placeholder: 'lan|wan|local', description: 'timing profile (default lan; $HEARSAY_PROFILE)' },
  'data-dir': {
    type: 'string',
    placeholder: 'DIR',
    description: 'directory for the peer snapshot, so a restarted agent rejoins without seeds ($HEARSAY_DATA_DIR)',
  },
  config: { type: 'string', placeholder: 'FILE', description: 'JSON config file; flags and environment variables win over it' },
  'retry-join': {
    type: 'string',
    repeatable: true,
    placeholder: 'HOST:PORT',
    description: 'seed to keep trying, with backoff, until one answers; a name or dns+srv:NAME is resolved every round ($HEARSAY_RETRY_JOIN)',
  },
  'retry-join-interval': { type: 'string', placeholder: 'DURATION', description: 'longest wait between retry-join rounds (default 30s; $HEARSAY_RETRY_JOIN_INTERVAL)' },
  'retry-join-max': { type: 'string', placeholder: 'N', description: 'retry-join rounds before exiting 1; 0 retries forever (default 0; $HEARSAY_RETRY_JOIN_MAX)' },
  'log-level': {
    type: 'string',
    placeholder: 'LEVEL',
    description: `log level on stderr: ${LOG_LEVELS.join(', ')} (default info; $HEARSAY_LOG_LEVEL)`,
  },
  'log-format': { type: 'choice', choices: ['text', 'json'], description: 'log lines as text or JSON (default: text on a terminal, else json; $HEARSAY_LOG_FORMAT)' },
  json: { type: 'boolean', description: 'the same as --log-format json' },
  'enable-script-checks': {
    type: 'boolean',
    description: "accept command checks registered through the HTTP API: any local caller can then run programs as this agent's user (default off; config file checks always run)",
  },
  ...securityFlags,
} as const;

export type AgentFlags = FlagValues<typeof flags>;

/** Every flag at its default, as a command line without flags gives (tests start from it). */
export function defaultAgentFlags(): AgentFlags {
  return parseFlags('agent', flags, []);
}

/** What `hearsay agent` needs from its surroundings; tests pass fakes. */
export interface AgentCommandDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly createAgent: (options: AgentOptions) => Agent;
  /** Where SIGINT, SIGTERM and SIGHUP come from. @default process */
  readonly signals: {
    on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
    off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  };
  /** Ends the process at once (a second signal). */
  readonly exit: (code: number) => void;
  /** A logger to use instead of the agent's own log output on io.stderr. */
  readonly logger?: Logger;
  readonly readFile?: (path: string) => Promise<string>;
  /** Called once the agent and the HTTP API are up (tests use it to find the ports). */
  readonly onReady?: (ready: { readonly agent: Agent; readonly http: HttpServer; readonly config: AgentConfig; readonly dns?: DnsServer }) => void;
}

const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
const SIGNAL_NUMBERS: Readonly<Record<string, number>> = { SIGINT: 2, SIGTERM: 15 };
/** Settings a reload cannot apply to a running agent. */
const RESTART_ONLY = ['name', 'bind', 'advertise', 'http', 'dns', 'dnsDomain', 'datacenter', 'profile', 'dataDir', 'security', 'httpToken', 'limits', 'membership', 'identityFiles', 'identityTransition', 'apiTokensFile'] as const;

function flagSettings(values: AgentFlags): AgentFlagSettings {
  const opt = <K extends keyof AgentFlagSettings>(key: K, v: AgentFlagSettings[K] | undefined): Partial<AgentFlagSettings> =>
    v === undefined || (Array.isArray(v) && v.length === 0) ? {} : { [key]: v };
  return {
    ...opt('name', values.name),
    ...opt('bind', values.bind),
    ...opt('advertise', values.advertise),
    ...opt('join', values.join),
    ...opt('retryJoin', values['retry-join']),
    ...opt('retryJoinIntervalMs', values['retry-join-interval']),
    ...opt('retryJoinMax', values['retry-join-max']),
    ...opt('http', values.http),
    ...opt('dns', values.dns),
    ...opt('dnsDomain', values['dns-domain']),
    ...opt('datacenter', values.datacenter),
    ...opt('profile', values.profile),
    ...opt('dataDir', values['data-dir']),
    ...opt('logLevel', values['log-level']),
    ...opt('logFormat', values['log-format'] ?? (values.json ? 'json' : undefined)),
    ...opt('config', values.config),
    ...opt('enableScriptChecks', values['enable-script-checks'] ? 'true' : undefined),
    ...securitySettingsFromFlags(values),
  };
}

/** One line per seed, for a person: "  - 10.0.0.2:7946: connection refused (ECONNREFUSED) after 3 attempts". */
function seedLines(failures: readonly SeedFailure[]): string {
  return failures.map((f) => `  - ${f.seed}: ${f.reason}${f.errno === undefined ? '' : ` (${f.errno})`}`).join('\n');
}

/** Runs the agent until it leaves (signal or POST /v1/leave); resolves with the exit code. */
export async function runAgent(values: AgentFlags, io: Io, deps: AgentCommandDeps): Promise<number> {
  const settings = flagSettings(values);
  const load = (): Promise<AgentConfig> => loadAgentConfig(settings, deps.env, ...(deps.readFile === undefined ? [] : [deps.readFile]));
  let config: AgentConfig;
  try {
    config = await load();
  } catch (err) {
    if (err instanceof InvalidConfigError) {
      io.stderr.write(`hearsay agent: ${err.message}\nrun 'hearsay agent --help' for usage\n`);
      return 2;
    }
    throw err;
  }

  // The certificate and the API tokens: checked before anything starts, each refusal one clear error.
  let start: Awaited<ReturnType<typeof loadStartIdentity>>;
  try {
    start = await loadStartIdentity(config);
  } catch (err) {
    if (err instanceof HearsayError) {
      io.stderr.write(`hearsay agent: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  const output = deps.logger === undefined ? new LogOutput(io.stderr, config.logLevel, config.logFormat ?? (io.stderr.isTTY === true ? 'text' : 'json')) : undefined;
  const logger = deps.logger ?? (output as LogOutput).logger;
  const log = logger.child({ component: 'cli' });
  log.info(
    {
      name: config.name,
      bind: formatHostPort(config.bind),
      advertise: config.advertise === undefined ? undefined : formatHostPort(config.advertise),
      http: formatHostPort(config.http),
      dns: config.dns === null ? 'off' : formatHostPort(config.dns),
      services: config.services.length,
      join: config.join,
      retryJoin: config.retryJoin,
      profile: config.profile,
      dataDir: config.dataDir,
      configFile: config.configFile,
    },
    'starting',
  );
  if (!isLoopbackHost(config.http.host)) {
    log.warn({ http: formatHostPort(config.http) }, 'the HTTP API listens beyond loopback: every caller must send the bearer token');
  }

  let agent: Agent;
  try {
    const name = config.name ?? start.identity?.node;
    agent = deps.createAgent({
      ...(name === undefined ? {} : { name }),
      bind: config.bind,
      ...(config.advertise === undefined ? {} : { advertise: config.advertise }),
      profile: config.profile,
      membership: config.membership,
      tags: config.tags,
      ...(config.dataDir === undefined ? {} : { dataDir: config.dataDir }),
      security: config.security,
      ...(start.identity === undefined ? {} : { identity: start.identity }),
      ...(config.identityFiles?.revocations === undefined ? {} : { revocationsFile: config.identityFiles.revocations }),
      ...(config.identityTransition === undefined ? {} : { identityTransition: config.identityTransition }),
      ...agentLimits(config.limits),
      logger,
    });
  } catch (err) {
    if (err instanceof HearsayError) {
      io.stderr.write(`hearsay agent: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  const identity = new IdentityRuntime(config, agent, logger.child({ component: 'identity' }), start.tokens);
  // Services from the config file: registered before start, so the first state carries them.
  const fileServices = new ConfigServices(agent);
  try {
    const change = fileServices.apply(config.services);
    if (change.registered.length > 0) log.info({ ids: change.registered }, `registered ${change.registered.length} service(s) from the config file`);
  } catch (err) {
    await agent.close().catch(() => undefined);
    if (err instanceof HearsayError) {
      io.stderr.write(`hearsay agent: a service from ${config.configFile ?? 'the config file'}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));
  let stopping = false;
  let dns: DnsServer | undefined;
  const dnsMetrics = new DnsMetrics();
  const stopRetries = new AbortController();

  /** Rereads the config file and applies what a running agent can: services and checks, tags, the log level. */
  const reload = async (): Promise<ReloadReport> => {
    const next = await load();
    const services = fileServices.apply(next.services);
    if (JSON.stringify(next.tags) !== JSON.stringify(config.tags)) agent.setTags(next.tags);
    output?.setLevel(next.logLevel);
    const needsRestart = RESTART_ONLY.filter((k) => JSON.stringify(next[k]) !== JSON.stringify(config[k]));
    config = { ...next, ...Object.fromEntries(needsRestart.map((k) => [k, config[k]])) } as AgentConfig;
    const renewed = await identity.reload();
    const report: ReloadReport = { services, logLevel: next.logLevel, needsRestart, ...renewed };
    log.info({ ...services, logLevel: next.logLevel }, 'reloaded the config file');
    if (needsRestart.length > 0) log.warn({ settings: needsRestart }, `changed in the config file, applied at the next start: ${needsRestart.join(', ')}`);
    return report;
  };

  const http: HttpServer = createHttpServer(agent, {
    logger: logger.child({ component: 'http' }),
    profile: config.profile,
    ...httpSecurityOptions(config, agent),
    ...identity.httpOptions(),
    extraCounters: () => ({ ...(dns === undefined ? {} : dnsCounterValues(dns.counters)), ...identity.counters() }),
    ...(output === undefined ? {} : { logs: output }),
    onReload: reload,
    allowCommandChecks: config.enableScriptChecks,
    datacenter: config.datacenter,
    dnsMetrics,
    onLeave: () => {
      if (stopping) return;
      stopping = true;
      void stop(false, 0); // the agent has left (and closed); stop the HTTP API too
    },
  });

  const stop = async (leave: boolean, exitCode: number): Promise<void> => {
    stopRetries.abort();
    identity.stop();
    let code = exitCode;
    try {
      if (leave) await agent.leave();
      else await agent.close();
    } catch (err) {
      log.error({ err }, leave ? 'leave failed' : 'close failed');
      code = 1;
    }
    await http.close();
    await dns?.close();
    log.info({ code }, 'stopped');
    resolveDone(code);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now, without waiting for the leave');
      deps.exit(128 + (SIGNAL_NUMBERS[signal] ?? 1));
      return;
    }
    stopping = true;
    log.info({ signal }, 'leaving the cluster (send the signal again to exit at once)');
    void stop(true, 0);
  };
  const onHangup = (): void => {
    if (stopping) return;
    reload().catch((err: unknown) => log.error({ err }, 'reload failed: the running configuration is unchanged'));
  };
  for (const s of STOP_SIGNALS) deps.signals.on(s, onSignal);
  deps.signals.on('SIGHUP', onHangup);
  const removeSignals = (): void => {
    for (const s of STOP_SIGNALS) deps.signals.off(s, onSignal);
    deps.signals.off('SIGHUP', onHangup);
  };
  /** Gives up before running: closes what started, says why on stderr. */
  const fail = async (code: number, message: string): Promise<number> => {
    removeSignals();
    identity.stop();
    await agent.close().catch(() => undefined);
    await http.close();
    await dns?.close();
    io.stderr.write(`hearsay agent: ${message}\n`);
    return code;
  };

  agent.on('event', (e) => {
    if (e.type !== 'member-conflict' || e.lost !== true || stopping) return;
    stopping = true;
    io.stderr.write(`hearsay agent: another live node at ${formatHostPort(e.holder)} holds the name "${e.name}" and the mesh keeps it; this agent stops. Give every node a unique --name.\n`);
    void stop(false, 1);
  });
  try {
    await agent.start();
  } catch (err) {
    return fail(1, err instanceof Error ? err.message : String(err));
  }
  if (stopping) {
    // A signal arrived while starting: stop() is already under way.
    const code = await done;
    removeSignals();
    return code;
  }

  let httpAddress;
  try {
    httpAddress = await http.listen(config.http);
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    const hint =
      errno === 'EADDRINUSE'
        ? 'another process (or agent) uses this port: pass --http HOST:PORT with a free port, or port 0'
        : errno === 'EADDRNOTAVAIL'
          ? 'this machine has no such address: use 127.0.0.1 or one of its interface addresses'
          : 'check the --http address';
    return fail(1, `cannot listen for HTTP on ${formatHostPort(config.http)} (${errno ?? String(err)}): ${hint}`);
  }

  let dnsAddress;
  if (config.dns !== null) {
    const server = createDnsServer(agent, {
      logger: logger.child({ component: 'dns' }),
      ...dnsLimitOptions(config.limits),
      onQuery: dnsMetrics.onQuery,
      datacenter: config.datacenter,
      ...(config.dnsDomain === undefined ? {} : { consulDomain: config.dnsDomain }),
    });
    try {
      dnsAddress = await server.listen(config.dns);
      dns = server;
    } catch (err) {
      const errno = (err as NodeJS.ErrnoException).code;
      if (errno === 'EADDRINUSE' && config.sources.dns === 'default') {
        // Several agents on one host: the first has the default DNS port. Only an explicit --dns is fatal.
        log.warn({ dns: formatHostPort(config.dns) }, `the default DNS port ${formatHostPort(config.dns)} is taken (another agent on this host?): running without DNS; pass --dns HOST:PORT to serve it elsewhere`);
      } else {
        const hint =
          errno === 'EADDRINUSE'
            ? 'another process (or agent) uses this port: pass --dns HOST:PORT with a free port, port 0, or --dns off'
            : errno === 'EACCES'
              ? `ports below 1024 need privileges: use a high port such as ${AGENT_DEFAULTS.dns.port} and forward to it, or --dns off`
              : 'check the --dns address, or pass --dns off';
        return fail(1, `cannot listen for DNS on ${formatHostPort(config.dns)} (${errno ?? String(err)}): ${hint}`);
      }
    }
  }

  io.stdout.write(
    `hearsay agent ${agent.name} listening on ${formatHostPort(agent.address)} (http ${formatHostPort(httpAddress)})${dnsAddress === undefined ? '' : ` (dns ${formatHostPort(dnsAddress)})`}\n`,
  );
  identity.start();
  deps.onReady?.({ agent, http, config, ...(dns === undefined ? {} : { dns }) });

  if (config.join.length > 0) {
    try {
      const joined = await agent.join(config.join);
      log.info({ joined, seeds: config.join }, 'joined the cluster');
    } catch (err) {
      if (stopping) return finish();
      if (!(err instanceof JoinError)) throw err;
      if (config.retryJoin.length === 0) {
        log.error({ seeds: err.failures.map((f) => f.seed) }, 'could not join through any --join seed');
        stopping = true;
        void stop(false, 1);
        io.stderr.write(`hearsay agent: could not join through any --join seed:\n${seedLines(err.failures)}\ncheck that an agent runs at each seed, or use --retry-join to keep trying\n`);
        return finish();
      }
      log.warn({ seeds: err.failures.map((f) => `${f.seed}: ${f.reason}`) }, 'no --join seed answered: trying the --retry-join seeds');
    }
  }
  if (config.retryJoin.length > 0) {
    retryJoin(agent, config.retryJoin, {
      intervalMs: config.retryJoinIntervalMs,
      max: config.retryJoinMax,
      signal: stopRetries.signal,
      onRetry: (round, failures, nextInMs) =>
        log.warn({ round, seeds: failures.map((f) => `${f.seed}: ${f.reason}`), retryInMs: nextInMs }, `retry-join round ${round} failed: ${failures.map((f) => `${f.seed}: ${f.reason}`).join('; ')}`),
    }).then(
      (joined) => log.info({ joined, seeds: config.retryJoin }, 'joined the cluster (retry-join)'),
      (err: unknown) => {
        if (stopping || stopRetries.signal.aborted) return;
        const failures = err instanceof JoinError ? err.failures : [];
        log.error({ rounds: config.retryJoinMax }, `retry-join gave up after ${config.retryJoinMax} rounds: ${failures.map((f) => `${f.seed}: ${f.reason}`).join('; ')}`);
        stopping = true;
        void stop(false, 1);
      },
    );
  }
  return finish();

  async function finish(): Promise<number> {
    const code = await done;
    removeSignals();
    return code;
  }
}

export const command: Command<typeof flags> = {
  name: 'agent',
  summary: 'run a hearsay agent: join the mesh over UDP/TCP and serve the local HTTP API',
  details: [
    'Settings: flags win over HEARSAY_* environment variables, which win over the --config file',
    '(a JSON object with the keys name, bind, advertise, join and retryJoin (arrays), retryJoinIntervalMs,',
    'retryJoinMax, http, dns, dnsDomain, datacenter, profile, dataDir, logLevel, logFormat, key, keyringFile, label,',
    'encryptTransition, httpToken, apiTokens, ca, cert, certKey, revocations, tags (an object of strings), membership (membership option',
    'overrides), limits (see README: Security) and services (an array of service definitions as',
    'PUT /v1/services takes them, registered at start)).',
    'A HOST without :PORT uses the default port; write IPv6 as [ADDRESS]:PORT. A seed may also be a',
    'DNS name (all its A/AAAA records) or dns+srv:NAME (all its SRV targets), resolved every round.',
    '',
    'If no --join seed answers the agent exits 1 with each seed\'s reason, unless --retry-join seeds',
    'are given: those are retried with backoff until one answers (or --retry-join-max rounds).',
    'Logs: text on a terminal, JSON lines otherwise. SIGINT or SIGTERM leaves gracefully and exits 0;',
    'a second signal exits at once. SIGHUP rereads the config file (services, checks, tags, log level),',
    'the certificate files and the --api-tokens file (those two also when they change).',
    'With --ca, --cert and --cert-key the node runs with a certificate identity (`hearsay ca`): --name defaults',
    'to its node name, and only the services it names may be registered.',
    'The HTTP API (loopback by default; beyond loopback only with --http-token) is listed in the README;',
    'DNS answers NAME.service.hearsay, TAG.NAME.service.hearsay and NODE.node.hearsay (and, with',
    '--dns-domain consul, the same in Consul\'s forms under consul.). The HTTP API also speaks Consul\'s',
    'agent, catalog and health endpoints: see docs/from-consul.md.',
  ].join('\n'),
  flags,
  async run(values, io) {
    const code = await runAgent(values, io, {
      env: process.env,
      createAgent,
      signals: process,
      exit: (c) => process.exit(c),
    });
    // Everything is closed and the event loop should drain; if some handle lingers, do not hang.
    setTimeout(() => process.exit(code), 2000).unref();
    return code;
  },
};
