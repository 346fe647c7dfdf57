/** What every route group of the API is given by the server (server.ts). */
import type { Logger } from '../log/logger.js';
import type { DnsMetrics } from '../dns/metrics.js';
import type { KeyOp, KeyOpReport } from '../security/key-manager.js';
import type { LabelledSnapshot } from '../util/histogram.js';
import type { BlockingSlots } from './blocking.js';
import type { RuntimeMetrics } from './runtime-metrics.js';
import type { TokenTable } from './tokens.js';

/** What the key routes need from the agent: its key manager (HearsayAgent.keyManager). */
export interface KeyOps {
  run(op: KeyOp, key?: string): Promise<KeyOpReport>;
}

export interface HttpServerOptions {
  /** Logs requests at debug and failures at warn/error. @default no logging */
  readonly logger?: Logger;
  /** The agent's timing profile, shown by /v1/agent/self and /metrics (the Agent does not expose it). */
  readonly profile?: string;
  /**
   * Called once the answer to a successful POST /v1/leave has been sent; `hearsay agent` closes
   * the server and exits 0 there.
   */
  readonly onLeave?: () => void;
  /** Interval between SSE keep-alive comments on /v1/events, in ms. @default 15000 */
  readonly keepAliveMs?: number;
  /** Interval of the `agent-health` events on GET /v1/events?health, in ms. @default 2000 */
  readonly healthIntervalMs?: number;
  /** Largest request body accepted, in bytes; larger gets 413. @default 65536 */
  readonly maxBodyBytes?: number;
  /** Most concurrent /v1/events streams; more get 503. @default 64 */
  readonly maxEventStreams?: number;
  /** Bytes an SSE client may fall behind before its stream is ended. @default 1048576 */
  readonly maxEventBacklogBytes?: number;
  /** Most concurrent blocking queries (GET /v1/services/:name?index=, and the Consul reads' ?index=), all routes together; more get 503. @default 1024 */
  readonly maxBlockingQueries?: number;
  /** Bearer token every request must carry; required to listen beyond loopback. @default none */
  readonly token?: string;
  /**
   * The scoped tokens in force (api/tokens.ts, `--api-tokens FILE`): a function, so that a reload
   * swaps them; undefined from it means none. Like `token`, they allow listening beyond loopback.
   */
  readonly tokens?: () => TokenTable | undefined;
  /** Sustained request rate per caller (connection), bursts to twice it; more get 429. @default 10000 */
  readonly maxRequestsPerSecond?: number;
  /**
   * Most HTTP connections open at once; more are closed at once and counted, so the API can never
   * take the file descriptors the gossip sockets and data files need.
   * @default a quarter of the process's open-file limit, at most 1024
   */
  readonly maxConnections?: number;
  /** Request bodies read at once; more wait their turn, unread. @default 16 */
  readonly maxConcurrentBodies?: number;
  /** A connection must send a complete request head within this long, in ms (idle ones are cut). @default 10000 */
  readonly headerTimeoutMs?: number;
  /** Key operations (the agent's keyManager); without it the key routes answer 409. */
  readonly keys?: KeyOps;
  /** The process's log for GET /v1/agent/monitor; without it the route answers 501. */
  readonly logs?: LogSource;
  /**
   * Accept command checks (they run a program as the agent's user) in registrations through the
   * API, as Consul's enable_script_checks. Off, they are refused with 403; the config file and the
   * library's register() may always declare them. @default false
   */
  readonly allowCommandChecks?: boolean;
  /**
   * Counters of the process's other surfaces, keyed as the catalog keys them (`hearsay agent` gives
   * the DNS server's, agent/counters.ts dnsCounterValues), added to the agent's on /metrics.
   */
  readonly extraCounters?: () => Readonly<Record<string, number>>;
  /** Reloads the config file (services, checks, log level); without it POST /v1/agent/reload answers 501. */
  readonly onReload?: () => Promise<ReloadReport>;
  /** The DNS server's query counts and durations (give createDnsServer its onQuery), shown on /metrics. */
  readonly dnsMetrics?: Pick<DnsMetrics, 'queryCounts' | 'histograms'>;
  /**
   * The datacenter the Consul-compatible routes name (Config.Datacenter, every entry's Datacenter)
   * and answer `?dc=` for; another is refused with 400. A mesh is one datacenter. @default "dc1"
   */
  readonly datacenter?: string;
}

/** The agent process's log, for GET /v1/agent/monitor (cli/log-output.ts). */
export interface LogSource {
  /** Streams lines at `level` and above (text, or JSON lines with `json`); returns the stop function. */
  subscribe(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', json: boolean, onLine: (line: string) => void): () => void;
}

/** What a reload changed (POST /v1/agent/reload, SIGHUP). */
export interface ReloadReport {
  readonly services: { readonly registered: readonly string[]; readonly updated: readonly string[]; readonly deregistered: readonly string[] };
  readonly logLevel: string;
  /** Settings that changed in the file but need a restart. */
  readonly needsRestart: readonly string[];
  /** With a certificate: whether the reread files renewed it, were the same, or were refused (the old one kept). */
  readonly identity?: 'renewed' | 'unchanged' | 'refused';
  /** With --api-tokens: how many tokens are in force now, or 'refused' (the old ones kept). */
  readonly apiTokens?: number | 'refused';
}

export interface ApiContext {
  readonly options: HttpServerOptions;
  readonly log: Logger | undefined;
  /**
   * Calls `fn` when the server starts closing (blocking queries and streams end then); returns the
   * function that cancels it, to be called when the request ends first, so that nothing a finished
   * request held stays reachable.
   */
  onClose(fn: () => void): () => void;
  /** True once close() was called. */
  closing(): boolean;
  /** The API's own counters (requests refused by reason), added to the agent's on /metrics. */
  httpCounters(): Readonly<Record<string, number>>;
  /** hearsay_http_request_duration_seconds: every request so far by method, route template and status code. */
  httpDurations(): LabelledSnapshot[];
  /** The process and Node.js runtime families, read at scrape. */
  readonly runtime: Pick<RuntimeMetrics, 'collect'>;
  /** The blocking queries open now, bounded by maxBlockingQueries across every route. */
  readonly blocking: BlockingSlots;
  /** Leaves the mesh once, however many routes ask (POST /v1/leave, PUT /v1/agent/leave); rejects as agent.leave() does. */
  leave(timeoutMs?: number): Promise<void>;
}
