/**
 * The agent's metrics catalog: every family /metrics serves, declared once with its Prometheus
 * name, kind, help and labels. Most are counters the agent keeps: `agentCounters()` gathers their
 * values by key (what `agent.counters()` and `GET /v1/agent/self` show). The others are filled when
 * /metrics is scraped: histograms (the agent's probe round trips, by key from `agent.histograms()`;
 * the DNS server's durations), families whose label values come from data (HTTP requests by route,
 * DNS queries by type and outcome, instances per service, `hearsay_info`), and the process and
 * Node.js runtime families under prom-client's names. api/prometheus.ts renders them in this order;
 * the README's metrics table is generated from this list and a test keeps them equal. A key that is
 * not in the catalog is a bug (a test fails), never a guessed metric.
 */
import { ACK_PATHS, DROP_REASONS as CORE_DROPS } from '../membership/types.js';
import { IDENTITY_COUNTER_NAMES, IDENTITY_DROP_REASONS } from '../membership/authenticator.js';
import { REVOCATION_DROP_REASONS, REVOCATION_FETCH_OUTCOMES } from '../identity/revocation-spread.js';
import type { Membership } from '../membership/membership.js';
import { HEALTH_STATUSES } from '../registry/types.js';
import { SECURITY_DROPS } from '../security/secure-transport.js';
import { DROP_REASONS as TRANSPORT_DROPS } from '../transport/counters.js';
import { DNS_COUNTERS, DNS_TCP_CLOSE_REASONS, type DnsCounter } from '../dns/server.js';
import { DNS_DURATION_BUCKETS, DNS_OUTCOMES, DNS_PROTOCOLS, DNS_QUERY_TYPES } from '../dns/metrics.js';
import type { MemberStatus } from '../wire/messages.js';
import type { ServiceRuntime } from './services.js';

/** `untyped` only for the two prom-client gauges whose names end in _total (promtool rejects a gauge so named). */
export type MetricKind = 'counter' | 'gauge' | 'histogram' | 'untyped';

/** One sample of a family: the key that holds its value, and its label values. */
export interface MetricSeries {
  readonly key: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface MetricFamily {
  /** The Prometheus name (counters end in _total). */
  readonly name: string;
  readonly kind: MetricKind;
  readonly help: string;
  /** Label names every series of the family carries. */
  readonly labels: readonly string[];
  /**
   * The series known in advance, with the key of each value (in `counters()` for counters and
   * gauges, `histograms()` for histograms). Empty when the series are made from data at scrape.
   */
  readonly series: readonly MetricSeries[];
  /** Where the values come from when not from `counters()` (for the README). */
  readonly source?: string;
  /** For series made at scrape: the values each label may take, when they are a fixed set (for the README). */
  readonly labelValues?: Readonly<Record<string, readonly string[]>>;
  /** A histogram's bucket upper bounds, in its unit (`+Inf` implied). */
  readonly buckets?: readonly number[];
}

const STATUSES: readonly MemberStatus[] = ['alive', 'suspect', 'dead', 'left'];

function one(name: string, kind: MetricKind, key: string, help: string): MetricFamily {
  return { name, kind, help, labels: [], series: [{ key, labels: {} }] };
}

function byLabel(name: string, kind: MetricKind, label: string, values: readonly string[], keyOf: (v: string) => string, help: string): MetricFamily {
  return { name, kind, help, labels: [label], series: values.map((v) => ({ key: keyOf(v), labels: { [label]: v } })) };
}

/** A family whose series are made from data when /metrics is scraped. */
function scraped(name: string, kind: MetricKind, labels: readonly string[], source: string, help: string, extra: Pick<MetricFamily, 'labelValues' | 'buckets'> = {}): MetricFamily {
  return { name, kind, help, labels, series: [], source, ...extra };
}

/** A single-series family filled at scrape from `key`. */
function sampled(name: string, kind: MetricKind, key: string, source: string, help: string): MetricFamily {
  return { ...one(name, kind, key, help), source };
}

/** hearsay_probe_rtt_seconds: 0.1 ms (loopback) to 5 s (past the wan profile's 3 s probe timeout). */
export const PROBE_RTT_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** hearsay_http_request_duration_seconds: 0.5 ms to 5 min (blocking queries wait up to 5 min by default). */
export const HTTP_DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300];
/** nodejs_gc_duration_seconds: prom-client's buckets. */
export const GC_DURATION_BUCKETS: readonly number[] = [0.001, 0.01, 0.1, 1, 2, 5];
export const GC_KINDS = ['major', 'minor', 'incremental', 'weakcb'] as const;

/** Labels of hearsay_http_request_duration_seconds: method (GET, PUT, POST, DELETE, HEAD, OPTIONS or other), route template, status code. */
export const HTTP_DURATION_LABELS = ['method', 'route', 'code'] as const;

const PROCESS = 'the process, at scrape';
/** `hearsay agent`'s watch over the certificate files (identity/watch.ts). */
const IDENTITY_WATCH = '`hearsay agent` (the certificate files\' watch)';
/** The families an agent keeps only with a certificate (its core signs and verifies records). */
const WITH_IDENTITY = 'the agent, with a certificate (`identity.*` in `counters()`)';
const withIdentity = (f: MetricFamily): MetricFamily => ({ ...f, source: WITH_IDENTITY });
/** The source of the agent's histograms (agent.histograms()). */
const HISTOGRAMS = '`histograms()`';
const NODE = 'Node.js, at scrape';

/** The process and Node.js runtime families, with prom-client's names, help and semantics. */
const RUNTIME_FAMILIES: readonly MetricFamily[] = [
  sampled('process_cpu_user_seconds_total', 'counter', 'process.cpuUserSeconds', PROCESS, 'Total user CPU time spent in seconds.'),
  sampled('process_cpu_system_seconds_total', 'counter', 'process.cpuSystemSeconds', PROCESS, 'Total system CPU time spent in seconds.'),
  sampled('process_cpu_seconds_total', 'counter', 'process.cpuSeconds', PROCESS, 'Total user and system CPU time spent in seconds.'),
  sampled('process_start_time_seconds', 'gauge', 'process.startTimeSeconds', PROCESS, 'Start time of the process since unix epoch in seconds.'),
  sampled('process_resident_memory_bytes', 'gauge', 'process.residentMemoryBytes', PROCESS, 'Resident memory size in bytes.'),
  sampled('process_virtual_memory_bytes', 'gauge', 'process.virtualMemoryBytes', PROCESS, 'Virtual memory size in bytes.'),
  sampled('process_heap_bytes', 'gauge', 'process.heapBytes', PROCESS, 'Process heap size in bytes.'),
  sampled('process_open_fds', 'gauge', 'process.openFds', PROCESS, 'Number of open file descriptors.'),
  sampled('process_max_fds', 'gauge', 'process.maxFds', PROCESS, 'Maximum number of open file descriptors.'),
  sampled('nodejs_eventloop_lag_seconds', 'gauge', 'nodejs.eventloopLag', NODE, 'Lag of event loop in seconds.'),
  sampled('nodejs_eventloop_lag_min_seconds', 'gauge', 'nodejs.eventloopLagMin', NODE, 'The minimum recorded event loop delay.'),
  sampled('nodejs_eventloop_lag_max_seconds', 'gauge', 'nodejs.eventloopLagMax', NODE, 'The maximum recorded event loop delay.'),
  sampled('nodejs_eventloop_lag_mean_seconds', 'gauge', 'nodejs.eventloopLagMean', NODE, 'The mean of the recorded event loop delays.'),
  sampled('nodejs_eventloop_lag_stddev_seconds', 'gauge', 'nodejs.eventloopLagStddev', NODE, 'The standard deviation of the recorded event loop delays.'),
  sampled('nodejs_eventloop_lag_p50_seconds', 'gauge', 'nodejs.eventloopLagP50', NODE, 'The 50th percentile of the recorded event loop delays.'),
  sampled('nodejs_eventloop_lag_p90_seconds', 'gauge', 'nodejs.eventloopLagP90', NODE, 'The 90th percentile of the recorded event loop delays.'),
  sampled('nodejs_eventloop_lag_p99_seconds', 'gauge', 'nodejs.eventloopLagP99', NODE, 'The 99th percentile of the recorded event loop delays.'),
  sampled('nodejs_active_handles_total', 'untyped', 'nodejs.activeHandles', NODE, 'Total number of active handles.'),
  sampled('nodejs_active_requests_total', 'untyped', 'nodejs.activeRequests', NODE, 'Total number of active requests.'),
  sampled('nodejs_heap_size_total_bytes', 'gauge', 'nodejs.heapSizeTotal', NODE, 'Process heap size from Node.js in bytes.'),
  sampled('nodejs_heap_size_used_bytes', 'gauge', 'nodejs.heapSizeUsed', NODE, 'Process heap size used from Node.js in bytes.'),
  sampled('nodejs_external_memory_bytes', 'gauge', 'nodejs.externalMemory', NODE, 'Node.js external memory size in bytes.'),
  ...(['total', 'used', 'available'] as const).map((m) => scraped(`nodejs_heap_space_size_${m}_bytes`, 'gauge', ['space'], NODE, `Process heap space size ${m} from Node.js in bytes.`)),
  scraped('nodejs_version_info', 'gauge', ['version', 'major', 'minor', 'patch'], NODE, 'Node.js version info.'),
  {
    ...byLabel('nodejs_gc_duration_seconds', 'histogram', 'kind', GC_KINDS, (k) => `gc.${k}`, 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.'),
    source: 'Node.js (a gc PerformanceObserver)',
    buckets: GC_DURATION_BUCKETS,
  },
];

/** Transport packets or bytes by channel and direction. */
function byChannel(stem: 'packets' | 'bytes', dir: 'in' | 'out', help: string): MetricFamily {
  const prop = `${stem}${dir === 'in' ? 'In' : 'Out'}`;
  return byLabel(`hearsay_transport_${stem}_${dir}_total`, 'counter', 'channel', ['datagram', 'stream'], (c) => `transport.${c}.${prop}`, help);
}

/** The core's counters that are plain counts, with their help. */
const CORE_COUNTS: readonly (readonly [key: string, metric: string, help: string])[] = [
  ['packetsIn', 'packets_in', 'Packets handed to the membership protocol.'],
  ['packetsOut', 'packets_out', 'Packets the membership protocol sent.'],
  ['bytesIn', 'bytes_in', 'Bytes handed to the membership protocol.'],
  ['bytesOut', 'bytes_out', 'Bytes the membership protocol sent.'],
  ['messagesIn', 'messages_in', 'Protocol messages received (a packet may carry several).'],
  ['probes', 'probes', 'Failure-detector probes started.'],
  ['probeFailures', 'probe_failures', 'Probes that got no ack, directly or indirectly.'],
  ['indirectProbes', 'indirect_probes', 'Indirect probes (ping-req) sent to other members after a probe timed out.'],
  ['streamProbes', 'stream_probes', 'TCP pings sent after a UDP probe timed out.'],
  ['refusedStreamProbes', 'refused_stream_probes', 'TCP pings of a probe that were refused (nothing listens at the member\'s address): the member was suspected at once.'],
  ['relayedProbes', 'relayed_probes', 'Indirect probes this node ran for other members.'],
  ['nacksSent', 'nacks_sent', 'Nacks sent for relayed probes that got no answer (Lifeguard).'],
  ['suspicionsRaised', 'suspicions_raised', 'Members this node started suspecting.'],
  ['confirmations', 'confirmations', 'Independent confirmations of a suspicion this node holds (Lifeguard).'],
  ['deathsDeclared', 'deaths_declared', 'Members this node declared dead when their suspicion expired.'],
  ['suspicionsDeferredAfterStall', 'suspicions_deferred_after_stall', 'Suspicion timeouts deferred by one probe timeout because this node had stalled.'],
  ['refutations', 'refutations', 'Times this node refuted a suspicion or death of itself.'],
  ['pushPullsSent', 'push_pulls_sent', 'Full-state exchanges (push-pull) this node started.'],
  ['pushPullsReceived', 'push_pulls_received', 'Full-state exchanges (push-pull) other nodes started with this one.'],
  ['reconnects', 'reconnects', 'Push-pulls sent to dead members, to merge a healed partition.'],
  ['staleAccusationsAnswered', 'stale_accusations_answered', 'Stale suspicions of this node answered with its current alive.'],
  ['digestSyncs', 'digest_syncs', 'Push-pulls started because a peer acked with a different membership digest.'],
  ['gossipPackets', 'gossip_packets', 'Piggyback-only gossip packets sent.'],
  ['reaped', 'reaped', 'Tombstones (dead or left members) removed from the member table.'],
  ['nameConflicts', 'name_conflicts', 'Times one node name was claimed from two addresses (each pair of addresses once a minute).'],
  ['nameConflictsLost', 'name_conflicts_lost', 'Times this node found another live process holding its name and stopped (1 at most).'],
  ['stateDeltasApplied', 'state_deltas_applied', "Deltas of another node's state (the state layer) applied to this node's replica."],
  ['stateDeltasStale', 'state_deltas_stale', 'State deltas that brought nothing new (already held, or an older generation).'],
  ['stateGaps', 'state_gaps', 'State deltas that started above the version held (a missed piece, or an announcement): fetched.'],
  ['stateAnnounces', 'state_announces', "Announcements of this node's state version (a change too large to piggyback, or the state at start)."],
  ['stateRequestsSent', 'state_requests_sent', "Requests for another node's state this node sent (to whoever told it of the version)."],
  ['stateRequestsAnswered', 'state_requests_answered', 'State digests from peers this node answered with what they miss.'],
  ['stateExchanges', 'state_exchanges', 'Full state digest exchanges started (on join, and when summaries differed).'],
  ['stateTombstonesCollected', 'state_tombstones_collected', 'State tombstones (deleted entries) collected after their grace period.'],
  ['stateDeltaBytes.instance', 'state_delta_instance_bytes', 'State-delta bytes sent for instance entries (i:): keys, values, signatures.'],
  ['stateDeltaBytes.status', 'state_delta_status_bytes', 'State-delta bytes sent for status entries (s:): keys, values, signatures.'],
  ['stateDeltaBytes.checks', 'state_delta_checks_bytes', 'State-delta bytes sent for check entries (c:): keys, values, signatures.'],
  ['stateDeltaBytes.tags', 'state_delta_tags_bytes', 'State-delta bytes sent for node tags entries (t:): keys, values, signatures.'],
  ['stateDeltaBytes.other', 'state_delta_other_bytes', 'State-delta bytes sent for entries of other keys.'],
  ['stateDeltaBytes.header', 'state_delta_header_bytes', 'State-delta bytes sent besides entries: framing, delta and entry headers, announcements.'],
  ['stateInvalidTags', 'state_invalid_tags', 'Peers\' tags entries (`t:`) that did not decode: the node is shown without tags.'],
];

const TRANSPORT_COUNTS: readonly (readonly [key: string, metric: string, help: string])[] = [
  ['transport.stream.connectionsIn', 'connections_in', 'TCP connections accepted.'],
  ['transport.stream.connectionsOut', 'connections_out', 'TCP connections dialed.'],
  ['transport.stream.connectFailures', 'connect_failures', 'TCP dials that failed.'],
  ['transport.stream.connectTimeouts', 'connect_timeouts', 'TCP dials that did not connect within the connect timeout.'],
  ['transport.stream.readTimeouts', 'read_timeouts', 'TCP connections cut at the read timeout.'],
];

const AGENT_COUNTS: readonly (readonly [key: string, metric: string, help: string])[] = [
  ['agent.streamProbeAcks', 'stream_probe_acks', 'Probes answered over TCP after the UDP probe timed out.'],
  ['agent.udpWarnings', 'udp_warnings', 'Warnings logged that UDP to a peer seems blocked.'],
  ['agent.unsignedWarnings', 'unsigned_warnings', 'Warnings logged that a peer signs nothing while this node requires signatures (a rollout step skipped).'],
  ['agent.joinAttempts', 'join_attempts', 'Join attempts made (every seed, every retry).'],
  ['agent.snapshotWrites', 'snapshot_writes', 'Data-dir files written (peer snapshot, saved services).'],
  ['agent.snapshotErrors', 'snapshot_errors', 'Data-dir writes that failed.'],
  ['agent.eventsDropped', 'events_dropped', 'Events dropped for event iterators that did not keep up.'],
];

const SERVICE_COUNTS: readonly (readonly [key: string, metric: string, help: string])[] = [
  ['services.publishes', 'services_publishes', "Times this node's service state was published (a new incarnation)."],
  ['services.publishesCoalesced', 'services_publishes_coalesced', 'Service state changes folded into a later publication (rate limit).'],
  ['services.checkRuns', 'services_check_runs', 'Health check results received (runs and TTL updates).'],
  ['services.deregisteredCritical', 'services_deregistered_critical', 'Instances deregistered because a check stayed critical past deregisterCriticalAfter.'],
  ['services.checkDetailsRefused', 'services_check_details_refused', "Publications whose check details (c:<id> entries) did not all fit this node's state limits; other agents show those instances' combined status only."],
];

/** The HTTP API's own counters (api/guard.ts); the server adds their values to the agent's. */
export const HTTP_COUNTER_KEYS = [
  'http.requests',
  'http.unauthorized',
  'http.rateLimited',
  'http.bodyTooLarge',
  'http.invalidRequests',
  'http.connectionsRefused',
  'http.headerTimeouts',
] as const;
export type HttpCounterKey = (typeof HTTP_COUNTER_KEYS)[number];

/** The DNS server's counters (dns/server.ts) under their catalog keys: `dns.` and the server's own key. */
export const DNS_COUNTER_KEYS = DNS_COUNTERS.map((k) => `dns.${k}` as const);

/** A DNS server's counters keyed as the catalog keys them (`hearsay agent` adds them to /metrics). */
export function dnsCounterValues(counters: Readonly<Record<DnsCounter, number>>): Readonly<Record<string, number>> {
  return Object.fromEntries(DNS_COUNTERS.map((k) => [`dns.${k}`, counters[k]]));
}

const counts = (prefix: string, rows: readonly (readonly [string, string, string])[]): MetricFamily[] =>
  rows.map(([key, metric, help]) => one(`hearsay_${prefix}${metric}_total`, 'counter', key, help));

export const METRICS: readonly MetricFamily[] = Object.freeze([
  scraped('hearsay_info', 'gauge', ['name', 'profile', 'version'], 'the agent', 'Constant 1, labelled with this node name, timing profile and hearsay version.'),
  byLabel('hearsay_members', 'gauge', 'status', STATUSES, (s) => `members.${s}`, 'Entries in the member table (this node included), by status.'),
  one('hearsay_members_active', 'gauge', 'members.active', 'Members alive or suspect, this node included.'),
  one('hearsay_member_table_entries', 'gauge', 'members.total', 'Entries in the member table, tombstones (dead, left) included.'),
  one('hearsay_local_incarnation', 'gauge', 'incarnation', "This node's incarnation number (raised by refutations and state updates)."),
  one('hearsay_health_score', 'gauge', 'healthScore', 'Lifeguard local health score (0 is healthy; each point stretches probe intervals and timeouts).'),
  ...counts('', CORE_COUNTS),
  byLabel('hearsay_dropped_total', 'counter', 'reason', [...CORE_DROPS, 'service-payload'], (r) => `dropped.${r}`, 'Packets, messages or service payloads the protocol dropped, by reason.'),
  byChannel('packets', 'in', 'Packets received by the transport, by channel (datagram = UDP, stream = TCP).'),
  byChannel('packets', 'out', 'Packets sent by the transport, by channel.'),
  byChannel('bytes', 'in', 'Bytes received by the transport, by channel.'),
  byChannel('bytes', 'out', 'Bytes sent by the transport, by channel.'),
  ...counts('transport_', TRANSPORT_COUNTS),
  one('hearsay_transport_connections_open', 'gauge', 'transport.stream.connectionsOpen', 'TCP connections open now.'),
  byLabel('hearsay_transport_dropped_total', 'counter', 'reason', TRANSPORT_DROPS, (r) => `transport.dropped.${r}`, 'Packets or connections the transport dropped, by reason.'),
  byLabel('hearsay_security_dropped_total', 'counter', 'reason', SECURITY_DROPS, (r) => `security.dropped.${r}`, 'Packets the security envelope refused, by reason.'),
  one('hearsay_security_packets_decrypted_total', 'counter', 'security.packetsDecrypted', 'Packets and frames decrypted.'),
  one('hearsay_security_plaintext_accepted_total', 'counter', 'security.plaintextAccepted', 'Plaintext packets accepted during an encryption transition.'),
  one('hearsay_security_key_ops_in_total', 'counter', 'security.keyOpsIn', 'Key operations received from other members.'),
  one('hearsay_security_key_ops_out_total', 'counter', 'security.keyOpsOut', 'Key operations sent to other members.'),
  ...counts('agent_', AGENT_COUNTS),
  one('hearsay_services_local', 'gauge', 'services.local', 'Service instances registered with this agent.'),
  one('hearsay_services_indexed', 'gauge', 'services.indexed', "Service instances on live nodes in this agent's index (the whole mesh as it sees it)."),
  ...counts('', SERVICE_COUNTS),
  sampled('hearsay_certificate_expiry_seconds', 'gauge', 'identity.expirySeconds', 'the agent, with a certificate (`identity.expirySeconds` in `counters()`)', "Seconds until this node's certificate expires (negative once expired); absent without --cert. The agent warns at a third of the lifetime left."),
  withIdentity(byLabel('hearsay_identity_dropped_total', 'counter', 'reason', IDENTITY_DROP_REASONS, (r) => `identity.dropped.${r}`, 'Signed (or, with identity enforced, unsigned) records dropped before any view change, by reason; absent without --cert.')),
  withIdentity(one('hearsay_identity_records_signed_total', 'counter', 'identity.signed', 'Records (alive, leave, accusations) this node signed; absent without --cert.')),
  withIdentity(one('hearsay_identity_records_verified_total', 'counter', 'identity.verified', 'Signed records received whose signature held (from the cache or verified); absent without --cert.')),
  withIdentity(one('hearsay_identity_verifications_total', 'counter', 'identity.verifications', 'Ed25519 verifications run (signed records not found in the verified cache); absent without --cert.')),
  withIdentity(one('hearsay_identity_cache_hits_total', 'counter', 'identity.cacheHits', 'Signed records found verified already (copies from several relays); absent without --cert.')),
  withIdentity(one('hearsay_identity_unsigned_accepted_total', 'counter', 'identity.unsignedAccepted', 'Unsigned records accepted during an identity transition (--identity-transition): when flat on every node, drop the transition.')),
  withIdentity(one('hearsay_identity_cert_requests_total', 'counter', 'identity.certRequestsSent', 'Certificates asked of a peer, for a signed record naming one this node lacked.')),
  withIdentity(one('hearsay_identity_certs_sent_total', 'counter', 'identity.certsSent', 'Certificates sent to peers that asked for them.')),
  withIdentity(one('hearsay_identity_certs_learned_total', 'counter', 'identity.certsLearned', "Peers' certificates checked against the CA and cached.")),
  withIdentity(one('hearsay_identity_revocations_adopted_total', 'counter', 'identity.revocations.adopted', 'Newer revocation lists put in force: from a peer, PUT /v1/identity/revocations or the --revocations file reloaded.')),
  withIdentity(byLabel('hearsay_identity_revocation_fetches_total', 'counter', 'outcome', REVOCATION_FETCH_OUTCOMES, (o) => `identity.revocations.fetches.${o}`, 'Revocation lists asked of a peer announcing a newer version, by outcome: adopted, superseded (it came another way meanwhile), dropped (the answer failed a check), failed (no answer, or none to give), busy (it had served its 8 a second; asked again later).')),
  withIdentity(byLabel('hearsay_identity_revocations_dropped_total', 'counter', 'reason', REVOCATION_DROP_REASONS, (r) => `identity.revocations.dropped.${r}`, "Revocation lists a peer sent that were dropped, by reason: malformed, oversized, wrong-ca (another CA's), bad-signature, older (not above the version in force)." )),
  withIdentity(one('hearsay_identity_revocations_served_total', 'counter', 'identity.revocations.served', 'Revocation lists this node sent to peers that asked for them.')),
  withIdentity(one('hearsay_identity_revocations_served_busy_total', 'counter', 'identity.revocations.servedBusy', 'Revocation list requests answered busy: this node had served its 8 lists in the last second (the asker tries again, it or another holder).')),
  sampled('hearsay_certificate_renewals_total', 'counter', 'identity.renewals', IDENTITY_WATCH, 'Renewed certificates `hearsay agent` took without a restart (SIGHUP, or a changed file).'),
  sampled('hearsay_certificate_renewals_refused_total', 'counter', 'identity.renewalsRefused', IDENTITY_WATCH, 'Renewed certificate, key or revocation list files `hearsay agent` refused (invalid, expired, revoked, another node, or not allowing a registered service), keeping the identity it had.'),
  one('hearsay_http_requests_total', 'counter', 'http.requests', 'HTTP API requests received.'),
  one('hearsay_http_unauthorized_total', 'counter', 'http.unauthorized', 'HTTP API requests refused for a missing or wrong bearer token (401).'),
  one('hearsay_http_rate_limited_total', 'counter', 'http.rateLimited', 'HTTP API requests refused by the rate limit (429).'),
  one('hearsay_http_body_too_large_total', 'counter', 'http.bodyTooLarge', 'HTTP API requests refused for a body over the limit (413).'),
  one('hearsay_http_invalid_requests_total', 'counter', 'http.invalidRequests', 'HTTP API requests refused as invalid (400, 415).'),
  one('hearsay_http_connections_refused_total', 'counter', 'http.connectionsRefused', 'HTTP API connections closed at once because maxConnections were open.'),
  one('hearsay_http_header_timeouts_total', 'counter', 'http.headerTimeouts', 'HTTP API connections closed for sending no complete request head within the header timeout.'),
  byLabel('hearsay_dns_messages_total', 'counter', 'transport', ['udp', 'tcp'], (t) => `dns.${t}Queries`, 'DNS messages received, by transport.'),
  one('hearsay_dns_queries_received_total', 'counter', 'dns.queries', 'Well-formed DNS queries received (malformed messages are counted apart; hearsay_dns_queries_total splits the handled ones by type and outcome).'),
  one('hearsay_dns_nxdomain_total', 'counter', 'dns.nxdomain', 'DNS queries answered NXDOMAIN (a name the mesh does not know).'),
  one('hearsay_dns_refused_total', 'counter', 'dns.refused', 'DNS queries refused for a name outside the domain.'),
  one('hearsay_dns_truncated_total', 'counter', 'dns.truncated', 'DNS answers trimmed with the TC bit set (the client retries over TCP).'),
  one('hearsay_dns_malformed_total', 'counter', 'dns.malformed', 'DNS messages dropped as malformed (over TCP the connection is closed).'),
  one('hearsay_dns_unencodable_total', 'counter', 'dns.unencodable', 'DNS answers that left out records the codec could not encode.'),
  one('hearsay_dns_any_minimal_total', 'counter', 'dns.anyMinimal', 'ANY queries answered with one HINFO "RFC8482" record (RFC 8482) rather than every record.'),
  one('hearsay_dns_udp_amplification_limited_total', 'counter', 'dns.udpAmplificationLimited', "UDP answers made smaller than the client offered to take, to at most maxUdpAmplification times their query's size."),
  one('hearsay_dns_tcp_paused_total', 'counter', 'dns.tcpPaused', 'Times reading a DNS TCP connection paused because answers waited to be sent to its client (tcpMaxQueuedAnswers or tcpMaxQueuedBytes).'),
  one('hearsay_dns_tcp_connections_open', 'gauge', 'dns.tcpConnectionsOpen', 'DNS TCP connections open now.'),
  byLabel(
    'hearsay_dns_tcp_closed_total',
    'counter',
    'reason',
    DNS_TCP_CLOSE_REASONS,
    (r) => `dns.tcpClosed.${r}`,
    'DNS TCP connections the server closed, by reason (source-limit and connection-limit: to make room for a new connection).',
  ),
  {
    ...byLabel('hearsay_probe_rtt_seconds', 'histogram', 'path', ACK_PATHS, (p) => `probeRtt.${p}`, "Time from a probe's ping to its first ack, by the path the ack took: direct (the UDP round trip), indirect (through a ping-req relay, after the probe timeout) or stream (the TCP fallback ping)."),
    source: HISTOGRAMS,
    buckets: PROBE_RTT_BUCKETS,
  },
  scraped('hearsay_http_request_duration_seconds', 'histogram', HTTP_DURATION_LABELS, 'the HTTP server', 'HTTP API requests by method, route template and status code, by time from the request to the end of the answer (event streams and blocking queries count when they end).', {
    buckets: HTTP_DURATION_BUCKETS,
  }),
  scraped('hearsay_dns_queries_total', 'counter', ['type', 'outcome'], 'the DNS server', 'DNS queries handled, by question type and outcome (malformed ones are dropped unanswered).', {
    labelValues: { type: DNS_QUERY_TYPES, outcome: DNS_OUTCOMES },
  }),
  {
    ...byLabel('hearsay_dns_request_duration_seconds', 'histogram', 'protocol', DNS_PROTOCOLS, (p) => `dnsDuration.${p}`, 'Time to answer a DNS query (decoding, lookup and encoding), by protocol.'),
    source: 'the DNS server',
    buckets: DNS_DURATION_BUCKETS,
  },
  scraped('hearsay_service_instances', 'gauge', ['service', 'status'], 'the service index, at scrape', "Instances of each service on live (alive or suspect) nodes in this agent's view, by health status.", {
    labelValues: { status: HEALTH_STATUSES },
  }),
  ...RUNTIME_FAMILIES,
]);

/** The family named `name`; throws for a name not in the catalog (a programming error). */
export function metricFamily(name: string): MetricFamily {
  const f = METRICS.find((m) => m.name === name);
  if (f === undefined) throw new Error(`${name} is not in the metrics catalog`);
  return f;
}

/** What agentCounters() reads. */
export interface CounterSources {
  readonly core: Pick<Membership, 'counters' | 'activeCount' | 'size' | 'healthScore' | 'incarnation' | 'members' | 'identityCounters'>;
  readonly transport: Readonly<Record<string, number>>;
  readonly agent: Readonly<{ streamProbeAcks: number; udpWarnings: number; joinAttempts: number; snapshotWrites: number; snapshotErrors: number; eventsDropped: number }>;
  readonly services: Pick<ServiceRuntime, 'local' | 'index' | 'counters'>;
  /** The certificate identity, when the agent runs with one (wall-clock ms). */
  readonly identity?: Readonly<{ notAfterMs: number; nowMs: number }>;
  /** What the record authenticator did, when the agent runs with a certificate. */
  readonly authenticator?: Readonly<{ signatures: number; verifications: number; cacheHits: number }>;
  /** Revocation lists adopted, fetched and dropped (agent/revocations.ts), with a certificate. */
  readonly revocations?: Readonly<Record<string, number>>;
}

/** Every counter value by its catalog key (the HTTP API's own are added by the server). */
export function agentCounters(s: CounterSources): Readonly<Record<string, number>> {
  const out: Record<string, number> = { ...s.core.counters, ...s.transport };
  for (const [k, v] of Object.entries(s.agent)) out[`agent.${k}`] = v;
  const byStatus: Record<MemberStatus, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
  for (const v of s.core.members()) byStatus[v.status]++;
  for (const st of STATUSES) out[`members.${st}`] = byStatus[st];
  out['members.active'] = s.core.activeCount;
  out['members.total'] = s.core.size;
  out.incarnation = s.core.incarnation;
  out.healthScore = s.core.healthScore;
  out['services.local'] = s.services.local.size;
  out['services.indexed'] = s.services.index.size;
  const c = s.services.counters;
  out['services.publishes'] = c.publishes;
  out['services.publishesCoalesced'] = c.publishesCoalesced;
  out['services.checkRuns'] = c.checkRuns;
  out['services.deregisteredCritical'] = c.deregisteredCritical;
  out['services.checkDetailsRefused'] = c.checkDetailsRefused;
  out['dropped.service-payload'] = s.services.index.counters.invalidPayloads;
  if (s.identity !== undefined) {
    out['identity.expirySeconds'] = Math.floor((s.identity.notAfterMs - s.identity.nowMs) / 1000);
  }
  const ids = s.core.identityCounters;
  if (ids !== null) for (const k of IDENTITY_COUNTER_NAMES) out[`identity.${k}`] = ids[k];
  if (s.authenticator !== undefined) {
    out['identity.verifications'] = s.authenticator.verifications;
    out['identity.cacheHits'] = s.authenticator.cacheHits;
  }
  if (s.revocations !== undefined) Object.assign(out, s.revocations);
  return out;
}

/** The catalog as the README's metrics table (a test keeps the README equal to this). */
export function metricsTable(families: readonly MetricFamily[] = METRICS): string {
  const rows = families.map((f) => {
    const valuesOf = (l: string): string => {
      const known = f.series.length > 0 ? [...new Set(f.series.map((s) => s.labels[l] as string))] : (f.labelValues?.[l] ?? []);
      return known.length === 0 ? l : `${l}=${known.join('\\|')}`;
    };
    const labels = f.labels.length === 0 ? '' : `\`{${f.labels.map(valuesOf).join(', ')}}\``;
    const meaning = f.buckets === undefined ? f.help : `${f.help} Buckets: ${f.buckets.join(', ')}.`;
    const keys = f.series.map((s) => `\`${s.key}\``).join(', ');
    // Keys are shown where a caller reads them: counters() and the agent's histograms().
    const source = f.source === undefined ? keys : f.source === HISTOGRAMS ? `${f.source}: ${keys}` : f.source;
    return `| \`${f.name}\` | ${f.kind} | ${labels} | ${meaning} | ${source} |`;
  });
  return ['| metric | kind | labels | meaning | `counters()` keys, or source |', '|---|---|---|---|---|', ...rows].join('\n');
}
