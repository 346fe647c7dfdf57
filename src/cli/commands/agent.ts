/**
 * `hearsay agent`: runs an agent in the foreground. Settings come from the flags, else HEARSAY_*
 * environment variables, else a JSON --config file, else defaults (src/agent/config.ts), all
 * validated together. Logs are pino JSON lines on stderr; one line on stdout says it is ready:
 *
 *   hearsay agent <name> listening on <gossip addr> (http <http addr>) (dns <dns addr>)
 *
 * With --join it joins through the seeds (with retries); if none answers it logs the JoinError and
 * keeps running, since it may be the first node. SIGINT or SIGTERM make it leave gracefully and
 * exit 0; a second signal exits at once (128 + the signal number). POST /v1/leave on its HTTP API
 * does the same as a signal: the answer is sent, then the process exits 0.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { createAgent } from '../../agent/agent.js';
import { AGENT_DEFAULTS } from '../../agent/defaults.js';
import { InvalidConfigError, loadAgentConfig, LOG_LEVELS, type AgentConfig } from '../../agent/config.js';
import { formatHostPort, isLoopbackHost } from '../../transport/address.js';
import { createHttpServer, type HttpServer } from '../../api/server.js';
import { createDnsServer, type DnsServer } from '../../dns/server.js';
import type { Agent, AgentOptions } from '../../agent/types.js';
import { HearsayError } from '../../errors.js';
import type { Command, FlagValues, Io } from '../command.js';
import { agentLimits, httpSecurityOptions, securityFlags, securitySettingsFromFlags } from './security-flags.js';

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
  profile: { type: 'string', placeholder: 'lan|wan|local', description: 'timing profile (default lan; $HEARSAY_PROFILE)' },
  'data-dir': {
    type: 'string',
    placeholder: 'DIR',
    description: 'directory for the peer snapshot, so a restarted agent rejoins without seeds ($HEARSAY_DATA_DIR)',
  },
  config: { type: 'string', placeholder: 'FILE', description: 'JSON config file; flags and environment variables win over it' },
  'log-level': {
    type: 'string',
    placeholder: 'LEVEL',
    description: `log level of the JSON lines on stderr: ${LOG_LEVELS.join(', ')} (default info; $HEARSAY_LOG_LEVEL)`,
  },
  ...securityFlags,
} as const;

export type AgentFlags = FlagValues<typeof flags>;

/** What `hearsay agent` needs from its surroundings; tests pass fakes. */
export interface AgentCommandDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly createAgent: (options: AgentOptions) => Agent;
  /** Where SIGINT and SIGTERM come from. @default process */
  readonly signals: {
    on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
    off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  };
  /** Ends the process at once (a second signal). */
  readonly exit: (code: number) => void;
  /** A logger to use instead of pino on io.stderr at the configured level. */
  readonly logger?: Logger;
  readonly readFile?: (path: string) => Promise<string>;
  /** Called once the agent and the HTTP API are up (tests use it to find the ports). */
  readonly onReady?: (ready: { readonly agent: Agent; readonly http: HttpServer; readonly config: AgentConfig; readonly dns?: DnsServer }) => void;
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
const SIGNAL_NUMBERS: Readonly<Record<string, number>> = { SIGINT: 2, SIGTERM: 15 };

/** Runs the agent until it leaves (signal or POST /v1/leave); resolves with the exit code. */
export async function runAgent(values: AgentFlags, io: Io, deps: AgentCommandDeps): Promise<number> {
  let config: AgentConfig;
  try {
    config = await loadAgentConfig(
      {
        ...(values.name === undefined ? {} : { name: values.name }),
        ...(values.bind === undefined ? {} : { bind: values.bind }),
        ...(values.advertise === undefined ? {} : { advertise: values.advertise }),
        ...(values.join.length === 0 ? {} : { join: values.join }),
        ...(values.http === undefined ? {} : { http: values.http }),
        ...(values.dns === undefined ? {} : { dns: values.dns }),
        ...(values.profile === undefined ? {} : { profile: values.profile }),
        ...(values['data-dir'] === undefined ? {} : { dataDir: values['data-dir'] }),
        ...(values['log-level'] === undefined ? {} : { logLevel: values['log-level'] }),
        ...(values.config === undefined ? {} : { config: values.config }),
        ...securitySettingsFromFlags(values),
      },
      deps.env,
      ...(deps.readFile === undefined ? [] : [deps.readFile]),
    );
  } catch (err) {
    if (err instanceof InvalidConfigError) {
      io.stderr.write(`hearsay agent: ${err.message}\nrun 'hearsay agent --help' for usage\n`);
      return 2;
    }
    throw err;
  }

  const logger =
    deps.logger ?? pino({ level: config.logLevel, timestamp: pino.stdTimeFunctions.isoTime }, io.stderr as unknown as DestinationStream);
  const log = logger.child({ component: 'cli' });
  log.info(
    {
      name: config.name,
      bind: formatHostPort(config.bind),
      advertise: config.advertise === undefined ? undefined : formatHostPort(config.advertise),
      http: formatHostPort(config.http),
      dns: config.dns === null ? 'off' : formatHostPort(config.dns),
      services: config.services.length,
      join: config.join.map(formatHostPort),
      profile: config.profile,
      dataDir: config.dataDir,
      configFile: config.configFile,
      sources: config.sources,
    },
    'starting',
  );
  if (!isLoopbackHost(config.http.host)) {
    log.warn({ http: formatHostPort(config.http) }, 'the HTTP API listens beyond loopback: every caller must send the bearer token');
  }

  let agent: Agent;
  try {
    agent = deps.createAgent({
      ...(config.name === undefined ? {} : { name: config.name }),
      bind: config.bind,
      ...(config.advertise === undefined ? {} : { advertise: config.advertise }),
      profile: config.profile,
      membership: config.membership,
      tags: config.tags,
      ...(config.dataDir === undefined ? {} : { dataDir: config.dataDir }),
      security: config.security,
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

  // Services from the config file: registered before start, so the first state carries them.
  for (const def of config.services) {
    try {
      // Not saved in the data dir: the config file is their source, and says them again next time.
      const inst = agent.register(def, { persist: false });
      log.info({ service: inst.name, id: inst.id, port: inst.port }, 'registered a service from the config file');
    } catch (err) {
      await agent.close().catch(() => undefined);
      if (err instanceof HearsayError) {
        io.stderr.write(`hearsay agent: service "${String(def.name)}" from ${config.configFile ?? 'the config file'}: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
  }

  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));
  let stopping = false;
  let dns: DnsServer | undefined;
  const http: HttpServer = createHttpServer(agent, {
    logger: logger.child({ component: 'http' }),
    profile: config.profile,
    ...httpSecurityOptions(config, agent),
    onLeave: () => {
      if (stopping) return;
      stopping = true;
      void stop(false); // the agent has left (and closed); stop the HTTP API too
    },
  });

  const stop = async (leave: boolean): Promise<void> => {
    let code = 0;
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
    void stop(true);
  };
  for (const s of SIGNALS) deps.signals.on(s, onSignal);
  const removeSignals = (): void => {
    for (const s of SIGNALS) deps.signals.off(s, onSignal);
  };

  try {
    await agent.start();
  } catch (err) {
    removeSignals();
    await agent.close().catch(() => undefined);
    io.stderr.write(`hearsay agent: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
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
    removeSignals();
    await agent.close().catch(() => undefined);
    const errno = (err as NodeJS.ErrnoException).code;
    const hint =
      errno === 'EADDRINUSE'
        ? 'another process (or agent) uses this port: pass --http HOST:PORT with a free port, or port 0'
        : errno === 'EADDRNOTAVAIL'
          ? 'this machine has no such address: use 127.0.0.1 or one of its interface addresses'
          : 'check the --http address';
    io.stderr.write(`hearsay agent: cannot listen for HTTP on ${formatHostPort(config.http)} (${errno ?? String(err)}): ${hint}\n`);
    return 1;
  }

  let dnsAddress;
  if (config.dns !== null) {
    dns = createDnsServer(agent, { logger: logger.child({ component: 'dns' }) });
    try {
      dnsAddress = await dns.listen(config.dns);
    } catch (err) {
      removeSignals();
      await agent.close().catch(() => undefined);
      await http.close();
      const errno = (err as NodeJS.ErrnoException).code;
      const hint =
        errno === 'EADDRINUSE'
          ? 'another process (or agent) uses this port: pass --dns HOST:PORT with a free port, port 0, or --dns off'
          : errno === 'EACCES'
            ? `ports below 1024 need privileges: use a high port such as ${AGENT_DEFAULTS.dns.port} and forward to it, or --dns off`
            : 'check the --dns address, or pass --dns off';
      io.stderr.write(`hearsay agent: cannot listen for DNS on ${formatHostPort(config.dns)} (${errno ?? String(err)}): ${hint}\n`);
      return 1;
    }
  }

  io.stdout.write(
    `hearsay agent ${agent.name} listening on ${formatHostPort(agent.address)} (http ${formatHostPort(httpAddress)})${dnsAddress === undefined ? '' : ` (dns ${formatHostPort(dnsAddress)})`}\n`,
  );
  deps.onReady?.({ agent, http, config, ...(dns === undefined ? {} : { dns }) });

  if (config.join.length > 0) {
    agent.join(config.join).then(
      (joined) => log.info({ joined, seeds: config.join.length }, 'joined the cluster'),
      (err: unknown) => {
        if (stopping) return;
        log.error({ err }, 'could not join through any seed; running anyway (this may be the first node: others can join it)');
      },
    );
  }

  const code = await done;
  removeSignals();
  return code;
}

export const command: Command<typeof flags> = {
  name: 'agent',
  summary: 'run a hearsay agent: join the mesh over UDP/TCP and serve the local HTTP API',
  details: [
    'Settings: flags win over HEARSAY_* environment variables, which win over the --config file',
    '(a JSON object with the keys name, bind, advertise, join (an array), http, dns, profile, dataDir,',
    'logLevel, key, keyringFile, label, encryptTransition, httpToken, tags (an object of strings),',
    'membership (membership option overrides), limits (see README: Security) and services (an array',
    'of service definitions as PUT /v1/services takes them, registered at start)).',
    'A HOST without :PORT uses the default port; write IPv6 as [ADDRESS]:PORT.',
    '',
    'Logs are JSON lines on stderr. SIGINT or SIGTERM leaves gracefully and exits 0; a second',
    'signal exits at once. The HTTP API (loopback by default; beyond loopback only with',
    '--http-token) serves GET /v1/members, GET /v1/agent/self, POST /v1/join, POST /v1/leave,',
    'GET /v1/events (SSE), GET /metrics (Prometheus), the key routes /v1/keys (SECURITY.md) and the',
    'service routes (PUT/GET /v1/services, GET /v1/services/NAME, DELETE /v1/services/ID,',
    'GET /v1/pick/NAME, PUT /v1/checks/ID/pass|warn|fail, PUT /v1/maintenance).',
    'The DNS interface answers NAME.service.hearsay, TAG.NAME.service.hearsay and NODE.node.hearsay.',
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
