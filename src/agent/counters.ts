/**
 * The agent's counter catalog: every number the agent keeps, declared once with its Prometheus
 * family (name, kind, help, labels). `agentCounters()` gathers the values by key (what
 * `agent.counters()` and `GET /v1/agent/self` show); api/prometheus.ts renders the families on
 * /metrics; the README's metrics table is checked against this list by a test. A key that is not
 * in the catalog is a bug (a test fails), never a guessed metric.
 */
import type { Membership } from '../membership/membership.js';
import { DROP_REASONS as CORE_DROPS } from '../membership/types.js';
import { SECURITY_DROPS } from '../security/secure-transport.js';
import { DROP_REASONS as TRANSPORT_DROPS } from '../transport/counters.js';
import { DNS_COUNTERS, DNS_TCP_CLOSE_REASONS, type DnsCounter } from '../dns/server.js';
import type { MemberStatus } from '../wire/messages.js';
import type { ServiceRuntime } from './services.js';

export type MetricKind = 'counter' | 'gauge' | 'histogram';

/** One sample of a family: the counters() key that holds its value, and its label values. */
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
  readonly series: readonly MetricSeries[];
}

const STATUSES: readonly MemberStatus[] = ['alive', 'suspect', 'dead', 'left'];

function one(name: string, kind: MetricKind, key: string, help: string): MetricFamily {
  return { name, kind, help, labels: [], series: [{ key, labels: {} }] };
}

function byLabel(name: string, kind: MetricKind, label: string, values: readonly string[], keyOf: (v: string) => string, help: string): MetricFamily {
  return { name, kind, help, labels: [label], series: values.map((v) => ({ key: keyOf(v), labels: { [label]: v } })) };
}

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
  one('hearsay_http_requests_total', 'counter', 'http.requests', 'HTTP API requests received.'),
  one('hearsay_http_unauthorized_total', 'counter', 'http.unauthorized', 'HTTP API requests refused for a missing or wrong bearer token (401).'),
  one('hearsay_http_rate_limited_total', 'counter', 'http.rateLimited', 'HTTP API requests refused by the rate limit (429).'),
  one('hearsay_http_body_too_large_total', 'counter', 'http.bodyTooLarge', 'HTTP API requests refused for a body over the limit (413).'),
  one('hearsay_http_invalid_requests_total', 'counter', 'http.invalidRequests', 'HTTP API requests refused as invalid (400, 415).'),
  one('hearsay_http_connections_refused_total', 'counter', 'http.connectionsRefused', 'HTTP API connections closed at once because maxConnections were open.'),
  one('hearsay_http_header_timeouts_total', 'counter', 'http.headerTimeouts', 'HTTP API connections closed for sending no complete request head within the header timeout.'),
  byLabel('hearsay_dns_messages_total', 'counter', 'transport', ['udp', 'tcp'], (t) => `dns.${t}Queries`, 'DNS messages received, by transport.'),
  one('hearsay_dns_queries_total', 'counter', 'dns.queries', 'Well-formed DNS queries received (malformed messages are counted apart).'),
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
]);

/** What agentCounters() reads. */
export interface CounterSources {
  readonly core: Pick<Membership, 'counters' | 'activeCount' | 'size' | 'healthScore' | 'incarnation' | 'members'>;
  readonly transport: Readonly<Record<string, number>>;
  readonly agent: Readonly<{ streamProbeAcks: number; udpWarnings: number; joinAttempts: number; snapshotWrites: number; snapshotErrors: number; eventsDropped: number }>;
  readonly services: Pick<ServiceRuntime, 'local' | 'index' | 'counters'>;
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
  out['dropped.service-payload'] = s.services.index.counters.invalidPayloads;
  return out;
}

/** The catalog as the README's metrics table (a test keeps the README equal to this). */
export function metricsTable(families: readonly MetricFamily[] = METRICS): string {
  const rows = families.map((f) => {
    const labels = f.labels.length === 0 ? '' : `{${f.labels.map((l) => `${l}=${[...new Set(f.series.map((s) => s.labels[l]))].join('\\|')}`).join(', ')}}`;
    return `| \`${f.name}\` | ${f.kind} | ${labels === '' ? '' : `\`${labels}\``} | ${f.help} | ${f.series.map((s) => `\`${s.key}\``).join(', ')} |`;
  });
  return ['| metric | kind | labels | meaning | `counters()` keys |', '|---|---|---|---|---|', ...rows].join('\n');
}
