/**
 * Configuration of `hearsay agent`: defaults < JSON config file (--config) < HEARSAY_* environment
 * variables < command-line flags. Every source is validated together and every problem is reported
 * at once, each naming where the bad value came from and what to write instead.
 * Addresses are parsed by transport/address.ts, limits come from wire/limits.ts and defaults from
 * defaults.ts.
 */
import { HearsayError, InvalidOptionsError } from '../errors.js';
import { isProfileName, resolveOptions, type MembershipOptions, type ProfileName } from '../membership/options.js';
import type { Address } from '../wire/messages.js';
import { formatHostPort, isUnspecifiedHost, parseHostPort, type HostPortOptions } from '../transport/address.js';
import { parseDuration } from '../util/duration.js';
import { dataDirProblem } from './data-dir.js';
import { RETRY_JOIN_DEFAULTS } from './retry-join.js';
import { parseSeed } from './seeds.js';
import { DEFAULT_DECODE_LIMITS as LIMITS } from '../wire/limits.js';
import { AGENT_DEFAULTS } from './defaults.js';
import { normalizeService, type ServiceDefinition } from '../registry/local.js';
import { jsonErrorPosition } from '../util/json.js';
import { suggest } from '../util/suggest.js';
import type { AgentSecurityOptions } from '../security/options.js';
import { parseConfigLimits, resolveSecuritySettings, type ConfigLimits } from './security-settings.js';
import { datacenterProblem, REGISTRY_LIMITS } from '../registry/validate.js';
import type { IdentityFiles } from '../identity/identity.js';
import { IDENTITY_TRANSITIONS, type IdentityTransition } from '../membership/authenticator.js';
import { fsp } from '../builtins.js';


/** Most services a config file may list: the ceiling of maxInstancesPerNode (each registration is checked against the agent's own). */
const MAX_CONFIG_SERVICES = REGISTRY_LIMITS.maxInstancesPerNode;
/** The pino levels `--log-level` accepts. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
const MAX_SEEDS = 256;

// ---------------------------------------------------------------------------------------------
// The agent's configuration

/** The settings one source gives, as written (strings), before validation. */
export interface AgentSettings {
  readonly name?: string;
  readonly bind?: string;
  readonly advertise?: string;
  readonly join?: readonly string[];
  /** Seeds to keep trying until one answers (`--retry-join`, repeatable). */
  readonly retryJoin?: readonly string[];
  /** Longest wait between two retry-join rounds: a duration ("30s") or ms. */
  readonly retryJoinIntervalMs?: string;
  /** Retry-join rounds before the agent gives up and exits; 0 = forever. */
  readonly retryJoinMax?: string;
  /** text or json. */
  readonly logFormat?: string;
  /** "true": accept command checks registered through the HTTP API. */
  readonly enableScriptChecks?: string;
  readonly http?: string;
  readonly profile?: string;
  readonly dataDir?: string;
  readonly logLevel?: string;
  /** HOST:PORT for the DNS interface, or "off". */
  readonly dns?: string;
  /** A second DNS domain answered in Consul's forms, e.g. "consul". */
  readonly dnsDomain?: string;
  /** The datacenter the Consul-compatible API and DNS name (Consul's `datacenter`). */
  readonly datacenter?: string;
  readonly key?: string;
  readonly keyringFile?: string;
  readonly label?: string;
  readonly encryptTransition?: string;
  readonly httpToken?: string;
  /** The CA certificate (PEM) node certificates are checked against. */
  readonly ca?: string;
  /** This node's certificate (PEM). */
  readonly cert?: string;
  /** This node's private key (PEM). */
  readonly certKey?: string;
  /** The CA's revocation list (`hearsay ca revoke`). */
  readonly revocations?: string;
  /** Rolling identity out: send-unsigned (step 1), accept-unsigned (step 2), off (enforced). */
  readonly identityTransition?: string;
  /** The HTTP API's scoped tokens (JSON; api/tokens.ts). */
  readonly apiTokens?: string;
}

/** The flags `hearsay agent` takes; `join` is the repeatable `--join`. */
export interface AgentFlagSettings extends AgentSettings {
  readonly config?: string;
}

export type SettingSource = 'default' | 'config' | 'env' | 'flag';

/** A validated configuration for `hearsay agent`. */
export interface AgentConfig {
  /** Absent: the agent picks its default (host name plus a short random suffix). */
  readonly name?: string;
  readonly bind: Address;
  /** Absent: the agent advertises its bound address. */
  readonly advertise?: Address;
  /** Seeds for a join at start (a few attempts; all failing is fatal unless retryJoin is given), normalized to HOST:PORT or dns+srv:NAME. */
  readonly join: readonly string[];
  /** Seeds to keep trying, with backoff, until one answers. */
  readonly retryJoin: readonly string[];
  readonly retryJoinIntervalMs: number;
  /** 0: forever. */
  readonly retryJoinMax: number;
  /** Log lines as text (people) or JSON (machines); undefined: text on a terminal, JSON otherwise. */
  readonly logFormat?: LogFormat;
  /** Accept command checks registered through the HTTP API (they run programs as the agent's user). */
  readonly enableScriptChecks: boolean;
  readonly http: Address;
  /** Where the DNS interface listens; null when turned off (--dns off). */
  readonly dns: Address | null;
  /** A second DNS domain answered in Consul's forms (--dns-domain consul); absent: only hearsay's own. */
  readonly dnsDomain?: string;
  /** The datacenter the Consul-compatible API and DNS name. @default "dc1" */
  readonly datacenter: string;
  readonly profile: ProfileName;
  readonly dataDir?: string;
  readonly logLevel: LogLevel;
  /** Node tags (config file only). */
  readonly tags: Readonly<Record<string, string>>;
  /** Membership option overrides over the profile (config file only), already validated. */
  readonly membership: Partial<MembershipOptions>;
  /** Services to register at start (config file only), already validated. */
  readonly services: readonly ServiceDefinition[];
  /** The config file read, if any. */
  readonly configFile?: string;
  /** Keys, keyring file, cluster label, transition step (security/options.ts). */
  readonly security: AgentSecurityOptions;
  /** The HTTP API's bearer token, if any. */
  readonly httpToken?: string;
  /** The certificate files (--ca, --cert, --cert-key, --revocations), when identity is on. */
  readonly identityFiles?: IdentityFiles;
  /** The identity transition step (--identity-transition), with identity only. */
  readonly identityTransition?: IdentityTransition;
  /** The HTTP API's scoped tokens file (--api-tokens), reread on SIGHUP and when it changes. */
  readonly apiTokensFile?: string;
  /** Limits (config file only: "limits"). */
  readonly limits: ConfigLimits;
  /** Where each setting's value came from. */
  readonly sources: Readonly<Record<keyof AgentSettings, SettingSource>>;
}

/** One or more settings are invalid; `problems` lists each one with where it came from. */
export class InvalidConfigError extends HearsayError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(
      'HEARSAY_ERR_INVALID_CONFIG',
      `invalid agent configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}\n` +
        'fix them and start again (flags win over HEARSAY_* environment variables, which win over the --config file)',
    );
    this.problems = problems;
  }
}

/** The environment variables `hearsay agent` reads, by setting. */
export const ENV_VARS: Readonly<Record<keyof AgentSettings, string>> = Object.freeze({
  name: 'HEARSAY_NAME',
  bind: 'HEARSAY_BIND',
  advertise: 'HEARSAY_ADVERTISE',
  join: 'HEARSAY_JOIN',
  retryJoin: 'HEARSAY_RETRY_JOIN',
  retryJoinIntervalMs: 'HEARSAY_RETRY_JOIN_INTERVAL',
  retryJoinMax: 'HEARSAY_RETRY_JOIN_MAX',
  logFormat: 'HEARSAY_LOG_FORMAT',
  enableScriptChecks: 'HEARSAY_ENABLE_SCRIPT_CHECKS',
  http: 'HEARSAY_HTTP',
  profile: 'HEARSAY_PROFILE',
  dataDir: 'HEARSAY_DATA_DIR',
  logLevel: 'HEARSAY_LOG_LEVEL',
  dns: 'HEARSAY_DNS',
  dnsDomain: 'HEARSAY_DNS_DOMAIN',
  datacenter: 'HEARSAY_DATACENTER',
  key: 'HEARSAY_KEY',
  keyringFile: 'HEARSAY_KEYRING_FILE',
  label: 'HEARSAY_LABEL',
  encryptTransition: 'HEARSAY_ENCRYPT_TRANSITION',
  httpToken: 'HEARSAY_HTTP_TOKEN',
  ca: 'HEARSAY_CA',
  cert: 'HEARSAY_CERT',
  certKey: 'HEARSAY_CERT_KEY',
  revocations: 'HEARSAY_REVOCATIONS',
  identityTransition: 'HEARSAY_IDENTITY_TRANSITION',
  apiTokens: 'HEARSAY_API_TOKENS',
});

const FLAG_NAMES: Readonly<Record<keyof AgentSettings, string>> = Object.freeze({
  name: '--name',
  bind: '--bind',
  advertise: '--advertise',
  join: '--join',
  retryJoin: '--retry-join',
  retryJoinIntervalMs: '--retry-join-interval',
  retryJoinMax: '--retry-join-max',
  logFormat: '--log-format',
  enableScriptChecks: '--enable-script-checks',
  http: '--http',
  profile: '--profile',
  dataDir: '--data-dir',
  logLevel: '--log-level',
  dns: '--dns',
  dnsDomain: '--dns-domain',
  datacenter: '--datacenter',
  key: '--key',
  keyringFile: '--keyring-file',
  label: '--label',
  encryptTransition: '--encrypt-transition',
  httpToken: '--http-token',
  ca: '--ca',
  cert: '--cert',
  certKey: '--cert-key',
  revocations: '--revocations',
  identityTransition: '--identity-transition',
  apiTokens: '--api-tokens',
});

const SETTING_KEYS = Object.keys(ENV_VARS) as (keyof AgentSettings)[];
const FILE_KEYS = [...SETTING_KEYS, 'tags', 'membership', 'services', 'limits'] as const;

/** Reads the HEARSAY_* variables; an empty variable counts as unset. HEARSAY_JOIN is comma-separated. */
export function settingsFromEnv(env: Readonly<Record<string, string | undefined>>): AgentSettings {
  const out: Record<string, string | string[]> = {};
  for (const key of SETTING_KEYS) {
    const raw = env[ENV_VARS[key]];
    if (raw === undefined || raw.trim() === '') continue;
    out[key] = key === 'join' || key === 'retryJoin' ? raw.split(',').map((x) => x.trim()).filter((x) => x !== '') : raw;
  }
  return out as AgentSettings;
}

/** A config file's contents: its path and either its text or why it could not be read. */
export type ConfigFileInput = { readonly path: string; readonly text: string } | { readonly path: string; readonly error: string };

export interface ConfigInput {
  readonly flags: AgentFlagSettings;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly file?: ConfigFileInput;
}

interface Sourced<T> {
  readonly value: T;
  readonly source: SettingSource;
  /** How to name the value's origin in a problem, e.g. `--bind "x"`. */
  readonly label: string;
}

/**
 * Validates and merges the sources (defaults < file < env < flags). Throws InvalidConfigError
 * listing every problem, in every source, at once.
 */
export function resolveAgentConfig(input: ConfigInput): AgentConfig {
  const problems: string[] = [];
  const fileSettings = parseConfigFile(input.file, problems);
  const env = settingsFromEnv(input.env);
  const fileLabel = input.file === undefined ? '' : `in ${input.file.path}`;

  const pick = <K extends keyof AgentSettings>(key: K): Sourced<NonNullable<AgentSettings[K]>> | undefined => {
    const show = (v: unknown): string => (Array.isArray(v) ? v.join(',') : String(v));
    const f = input.flags[key];
    if (f !== undefined && !(Array.isArray(f) && f.length === 0)) {
      return { value: f as NonNullable<AgentSettings[K]>, source: 'flag', label: `${FLAG_NAMES[key]} "${show(f)}"` };
    }
    const e = env[key];
    if (e !== undefined) return { value: e as NonNullable<AgentSettings[K]>, source: 'env', label: `${ENV_VARS[key]}="${show(e)}"` };
    const c = fileSettings.settings[key];
    if (c !== undefined) return { value: c as NonNullable<AgentSettings[K]>, source: 'config', label: `"${key}": ${JSON.stringify(c)} ${fileLabel}` };
    return undefined;
  };

  const sources = {} as Record<keyof AgentSettings, SettingSource>;
  for (const key of SETTING_KEYS) sources[key] = pick(key)?.source ?? 'default';

  // name
  const nameIn = pick('name');
  let name: string | undefined;
  if (nameIn !== undefined) {
    const problem = checkName(nameIn.value);
    if (problem === undefined) name = nameIn.value;
    else problems.push(`${nameIn.label} ${problem}`);
  }

  const address = (key: 'bind' | 'advertise' | 'http', fallback: Address | undefined, options: HostPortOptions): Address | undefined => {
    const given = pick(key);
    if (given === undefined) return fallback;
    const parsed = parseHostPort(given.value, options);
    if (!parsed.ok) {
      problems.push(`${given.label} ${parsed.problem}`);
      return fallback;
    }
    if (key === 'advertise' && isUnspecifiedHost(parsed.address.host)) {
      problems.push(`${given.label} is not an address other nodes can reach: advertise this machine's IP, e.g. 10.0.0.5:7946`);
    }
    return parsed.address;
  };
  const bind = address('bind', AGENT_DEFAULTS.bind, { defaultPort: AGENT_DEFAULTS.bind.port, allowPortZero: true }) as Address;
  const advertise = address('advertise', undefined, { defaultPort: bind.port === 0 ? AGENT_DEFAULTS.bind.port : bind.port });
  const http = address('http', AGENT_DEFAULTS.http, { defaultPort: AGENT_DEFAULTS.http.port, allowPortZero: true }) as Address;
  let dns: Address | null = AGENT_DEFAULTS.dns;
  const dnsIn = pick('dns');
  if (dnsIn !== undefined) {
    if (dnsIn.value.trim().toLowerCase() === 'off') dns = null;
    else {
      const parsed = parseHostPort(dnsIn.value, { defaultPort: AGENT_DEFAULTS.dns.port, allowPortZero: true });
      if (parsed.ok) dns = parsed.address;
      else problems.push(`${dnsIn.label} ${parsed.problem} (or "off" to run without DNS)`);
    }
  }

  let dnsDomain: string | undefined;
  const domainIn = pick('dnsDomain');
  if (domainIn !== undefined) {
    const d = domainIn.value.trim().toLowerCase().replace(/\.$/, '');
    if (d.length > 0 && d.length <= 200 && d.split('.').every((l) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(l))) dnsDomain = d;
    else problems.push(`${domainIn.label} is not a DNS domain: give one such as consul (then NAME.service.consul answers) or mesh.example`);
  }
  let datacenter: string = AGENT_DEFAULTS.datacenter;
  const dcIn = pick('datacenter');
  if (dcIn !== undefined) {
    const problem = datacenterProblem(dcIn.value);
    if (problem === undefined) datacenter = dcIn.value;
    else problems.push(`${dcIn.label}: ${problem}`);
  }

  // join and retry-join: seeds as written, checked and normalized
  const seeds = (key: 'join' | 'retryJoin'): string[] => {
    const out: string[] = [];
    const given = pick(key);
    if (given === undefined) return out;
    if (given.value.length > MAX_SEEDS) problems.push(`${given.source === 'flag' ? FLAG_NAMES[key] : given.label} gives ${given.value.length} seeds: give at most ${MAX_SEEDS}`);
    for (const text of given.value) {
      const parsed = parseSeed(text);
      if (parsed.ok) out.push(parsed.seed.kind === 'host' ? formatHostPort(parsed.seed.address) : parsed.seed.text);
      else {
        const where = given.source === 'flag' ? `${FLAG_NAMES[key]} "${text}"` : given.source === 'env' ? `${ENV_VARS[key]} entry "${text}"` : `"${key}" entry "${text}" ${fileLabel}`;
        problems.push(`${where} ${parsed.problem}`);
      }
    }
    return out;
  };
  const join = seeds('join');
  const retryJoin = seeds('retryJoin');
  let retryJoinIntervalMs: number = RETRY_JOIN_DEFAULTS.intervalMs;
  const intervalIn = pick('retryJoinIntervalMs');
  if (intervalIn !== undefined) {
    const ms = parseDuration(intervalIn.value);
    if (ms === undefined || ms < 100 || ms > 3_600_000) problems.push(`${intervalIn.label} is not a retry interval: give a duration from 100ms to 1h, e.g. 30s`);
    else retryJoinIntervalMs = ms;
  }
  let retryJoinMax: number = RETRY_JOIN_DEFAULTS.max;
  const maxIn = pick('retryJoinMax');
  if (maxIn !== undefined) {
    const n = Number(maxIn.value);
    if (!/^\d+$/.test(maxIn.value.trim()) || !Number.isSafeInteger(n)) problems.push(`${maxIn.label} is not a number of rounds: give 0 (retry forever) or a positive integer`);
    else retryJoinMax = n;
  }
  let enableScriptChecks = false;
  const scriptIn = pick('enableScriptChecks');
  if (scriptIn !== undefined) {
    if (scriptIn.value === 'true' || scriptIn.value === 'false') enableScriptChecks = scriptIn.value === 'true';
    else problems.push(`${scriptIn.label} must be true or false`);
  }
  let logFormat: LogFormat | undefined;
  const formatIn = pick('logFormat');
  if (formatIn !== undefined) {
    if ((LOG_FORMATS as readonly string[]).includes(formatIn.value)) logFormat = formatIn.value as LogFormat;
    else problems.push(`${formatIn.label} is not a log format: use text (one readable line per event) or json`);
  }

  // profile
  let profile: ProfileName = AGENT_DEFAULTS.profile;
  const profileIn = pick('profile');
  if (profileIn !== undefined) {
    if (isProfileName(profileIn.value)) profile = profileIn.value;
    else problems.push(`${profileIn.label} is not a profile: use lan (datacenter), wan (across regions) or local (fast timers, one machine)`);
  }

  // log level
  let logLevel: LogLevel = AGENT_DEFAULTS.logLevel;
  const levelIn = pick('logLevel');
  if (levelIn !== undefined) {
    if ((LOG_LEVELS as readonly string[]).includes(levelIn.value)) logLevel = levelIn.value as LogLevel;
    else problems.push(`${levelIn.label} is not a log level: use one of ${LOG_LEVELS.join(', ')}`);
  }

  // data dir
  let dataDir: string | undefined;
  const dirIn = pick('dataDir');
  if (dirIn !== undefined) {
    if (dirIn.value.trim() === '' || dirIn.value.includes('\0')) problems.push(`${dirIn.label} is not a usable directory path`);
    else dataDir = dirIn.value;
  }

  // membership overrides (config file only), checked against the chosen profile
  let membership: Partial<MembershipOptions> = {};
  if (fileSettings.membership !== undefined) {
    try {
      resolveOptions(fileSettings.membership, profile);
      membership = fileSettings.membership;
    } catch (err) {
      if (!(err instanceof InvalidOptionsError)) throw err;
      for (const p of err.problems) problems.push(`"membership" ${fileLabel}: ${p}`);
    }
  }

  const secret = (k: 'key' | 'httpToken'): { value: string; label: string } | undefined => {
    const p = pick(k);
    // Never echo a secret: name only where it came from.
    const where = p === undefined ? '' : p.source === 'flag' ? FLAG_NAMES[k] : p.source === 'env' ? ENV_VARS[k] : `"${k}" ${fileLabel}`;
    return p === undefined ? undefined : { value: p.value, label: where };
  };
  const plain = (k: 'keyringFile' | 'label' | 'encryptTransition'): { value: string; label: string } | undefined => {
    const p = pick(k);
    return p === undefined ? undefined : { value: p.value, label: p.label };
  };
  // Identity: the certificate files, all three or none (the revocation list only with them).
  const path = (k: 'ca' | 'cert' | 'certKey' | 'revocations' | 'apiTokens'): string | undefined => {
    const p = pick(k);
    if (p === undefined) return undefined;
    if (p.value.trim() === '' || p.value.includes('\0')) {
      problems.push(`${p.label} is not a usable file path`);
      return undefined;
    }
    return p.value;
  };
  const ca = path('ca');
  const cert = path('cert');
  const certKey = path('certKey');
  const revocations = path('revocations');
  const apiTokensFile = path('apiTokens');
  let identityFiles: IdentityFiles | undefined;
  const givenIdentity = [ca, cert, certKey].filter((v) => v !== undefined).length;
  if (givenIdentity === 3) identityFiles = { ca: ca as string, cert: cert as string, certKey: certKey as string, ...(revocations === undefined ? {} : { revocations }) };
  else if (givenIdentity > 0) {
    const missing = (['ca', 'cert', 'certKey'] as const).filter((k) => ({ ca, cert, certKey })[k] === undefined).map((k) => FLAG_NAMES[k]);
    problems.push(`a node identity needs --ca, --cert and --cert-key together: also give ${missing.join(' and ')} (from \`hearsay ca init\` and \`hearsay ca issue\`)`);
  }
  if (revocations !== undefined && givenIdentity === 0) problems.push('--revocations needs a node identity: also give --ca, --cert and --cert-key');
  let identityTransition: IdentityTransition | undefined;
  const step = pick('identityTransition');
  if (step !== undefined) {
    if ((IDENTITY_TRANSITIONS as readonly string[]).includes(step.value)) identityTransition = step.value as IdentityTransition;
    else problems.push(`${step.label} is not a transition step: use send-unsigned (step 1 of a rollout), accept-unsigned (step 2) or off`);
    if (givenIdentity === 0) problems.push(`${step.label} needs a node identity: also give --ca, --cert and --cert-key`);
  }

  const sec = resolveSecuritySettings(
    {
      ...optional('key', secret('key')),
      ...optional('keyringFile', plain('keyringFile')),
      ...optional('label', plain('label')),
      ...optional('encryptTransition', plain('encryptTransition')),
      ...optional('httpToken', secret('httpToken')),
    },
    http,
    problems,
    apiTokensFile !== undefined,
  );

  if (problems.length > 0) throw new InvalidConfigError(problems);
  return {
    ...(identityFiles === undefined ? {} : { identityFiles }),
    ...(identityTransition === undefined ? {} : { identityTransition }),
    ...(apiTokensFile === undefined ? {} : { apiTokensFile }),
    security: sec.security,
    ...(sec.httpToken === undefined ? {} : { httpToken: sec.httpToken }),
    limits: fileSettings.limits ?? {},
    ...(name === undefined ? {} : { name }),
    bind,
    ...(advertise === undefined ? {} : { advertise }),
    join,
    retryJoin,
    retryJoinIntervalMs,
    retryJoinMax,
    ...(logFormat === undefined ? {} : { logFormat }),
    enableScriptChecks,
    http,
    dns,
    ...(dnsDomain === undefined ? {} : { dnsDomain }),
    datacenter,
    profile,
    ...(dataDir === undefined ? {} : { dataDir }),
    logLevel,
    tags: fileSettings.tags,
    membership,
    services: fileSettings.services,
    ...(input.file === undefined ? {} : { configFile: input.file.path }),
    sources,
  };
}

/**
 * Reads the config file named by `flags.config` (if any) and resolves the configuration.
 * An unreadable file is reported with the other problems.
 */
export async function loadAgentConfig(
  flags: AgentFlagSettings,
  env: Readonly<Record<string, string | undefined>>,
  read: (path: string) => Promise<string> = (path) => fsp().readFile(path, 'utf8'),
): Promise<AgentConfig> {
  let file: ConfigFileInput | undefined;
  if (flags.config !== undefined) {
    try {
      file = { path: flags.config, text: await read(flags.config) };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${(err as Error).message})`;
      file = { path: flags.config, error: `--config "${flags.config}" ${why}: give the path of a JSON file` };
    }
  }
  const config = resolveAgentConfig({ flags, env, ...(file === undefined ? {} : { file }) });
  // Checked before any work starts: a bad data dir is one clear error, not a failure later.
  const dirProblem = config.dataDir === undefined ? undefined : await dataDirProblem(config.dataDir);
  if (dirProblem !== undefined) throw new InvalidConfigError([`${config.sources.dataDir === 'flag' ? `--data-dir "${config.dataDir}"` : `dataDir "${config.dataDir}"`}: ${dirProblem}`]);
  return config;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

interface FileSettings {
  readonly limits?: ConfigLimits;
  readonly settings: AgentSettings;
  readonly tags: Readonly<Record<string, string>>;
  readonly services: readonly ServiceDefinition[];
  readonly membership?: Partial<MembershipOptions>;
}

function parseConfigFile(file: ConfigFileInput | undefined, problems: string[]): FileSettings {
  const empty: FileSettings = { settings: {}, tags: {}, services: [] };
  if (file === undefined) return empty;
  if ('error' in file) {
    problems.push(file.error);
    return empty;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(file.text);
  } catch (err) {
    // Not the parser's message: it quotes the text around the error, which may be a key.
    problems.push(`${file.path} is not valid JSON${jsonErrorPosition(err)}: fix the syntax, e.g. {"name": "web-1", "join": ["10.0.0.2:7946"]}`);
    return empty;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    problems.push(`${file.path} must hold a JSON object, e.g. {"name": "web-1", "join": ["10.0.0.2:7946"]}`);
    return empty;
  }
  const where = `in ${file.path}`;
  const settings: Record<string, unknown> = {};
  let tags: Record<string, string> = {};
  let membership: Partial<MembershipOptions> | undefined;
  const services: ServiceDefinition[] = [];
  let limits: ConfigLimits | undefined;
  for (const [key, value] of Object.entries(doc)) {
    if (!(FILE_KEYS as readonly string[]).includes(key)) {
      const camel = key.replace(/[-_]([a-z])/g, (_, c: string) => c.toUpperCase());
      const close = (FILE_KEYS as readonly string[]).includes(camel) ? [camel] : suggest(key, FILE_KEYS);
      const hint = close.length > 0 ? `did you mean ${close.map((k) => `"${k}"`).join(' or ')}?` : `known keys are ${FILE_KEYS.join(', ')}`;
      problems.push(`unknown key "${key}" ${where}: ${hint}`);
      continue;
    }
    if (key === 'join' || key === 'retryJoin') {
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) settings[key] = value;
      else problems.push(`"${key}" ${where} must be an array of "HOST:PORT" (or "dns+srv:NAME") strings, e.g. ["10.0.0.2:7946"]`);
    } else if (((key === 'retryJoinIntervalMs' || key === 'retryJoinMax') && typeof value === 'number') || (key === 'enableScriptChecks' && typeof value === 'boolean')) {
      settings[key] = String(value);
    } else if (key === 'tags') {
      const t = checkTags(value);
      if (typeof t === 'string') problems.push(`"tags" ${where} ${t}`);
      else tags = t;
    } else if (key === 'services') {
      if (!Array.isArray(value)) {
        problems.push(`"services" ${where} must be an array of service definitions, e.g. [{"name": "web", "port": 8080, "checks": [{"http": "http://127.0.0.1:8080/health"}]}]`);
      } else if (value.length > MAX_CONFIG_SERVICES) {
        problems.push(`"services" ${where} lists ${value.length} services: one node holds at most ${MAX_CONFIG_SERVICES}`);
      } else {
        const ids = new Set<string>();
        value.forEach((def: unknown, i: number) => {
          const checked = normalizeService(def, () => `config-${i}`);
          if (!checked.ok) for (const p of checked.problems) problems.push(`"services"[${i}] ${where}: ${p}`);
          else if ((def as { id?: unknown }).id !== undefined && ids.has(checked.record.id)) problems.push(`"services"[${i}] ${where}: id "${checked.record.id}" repeats`);
          else {
            if ((def as { id?: unknown }).id !== undefined) ids.add(checked.record.id);
            services.push(def as ServiceDefinition);
          }
        });
      }
    } else if (key === 'limits') {
      limits = parseConfigLimits(value, where, problems);
    } else if (key === 'membership') {
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) membership = value as Partial<MembershipOptions>;
      else problems.push(`"membership" ${where} must be an object of membership options, e.g. {"probeIntervalMs": 1000}`);
    } else if (typeof value === 'string') {
      settings[key] = value;
    } else {
      problems.push(`"${key}" ${where} must be a string (got ${JSON.stringify(value)})`);
    }
  }
  return {
    settings: settings as AgentSettings,
    tags,
    services,
    ...(membership === undefined ? {} : { membership }),
    ...(limits === undefined ? {} : { limits }),
  };
}

function checkName(name: string): string | undefined {
  if (name.trim() === '') return 'is empty: give a unique node name, e.g. --name web-1';
  if (Buffer.byteLength(name) > LIMITS.maxNameBytes) return `is longer than ${LIMITS.maxNameBytes} bytes: give a shorter node name`;
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(name)) return 'contains whitespace or control characters: use e.g. letters, digits, "-", "_" and "."';
  return undefined;
}

function checkTags(value: unknown): Record<string, string> | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object of string values, e.g. {"role": "web"}';
  const entries = Object.entries(value);
  if (entries.length > LIMITS.maxTags) return `has ${entries.length} tags: at most ${LIMITS.maxTags} fit`;
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (typeof v !== 'string') return `has "${k}": ${JSON.stringify(v)}: tag values must be strings`;
    if (k === '' || Buffer.byteLength(k) > LIMITS.maxTagKeyBytes) return `has key "${k}": tag keys must be 1-${LIMITS.maxTagKeyBytes} bytes`;
    if (Buffer.byteLength(v) > LIMITS.maxTagValueBytes) return `has "${k}" longer than ${LIMITS.maxTagValueBytes} bytes: shorten the value`;
    out[k] = v;
  }
  return out;
}
