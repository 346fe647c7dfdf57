/**
 * Prometheus text exposition (format 0.0.4) of an agent: every entry of `agent.counters()` as a
 * `hearsay_*` metric, plus gauges for the member table by status, this node's incarnation and the
 * Lifeguard health score. No client library: the format is a few lines of text and the values are
 * already counted by the agent.
 *
 * Counter keys become metric names by snake-casing their dotted segments, with two of them turned
 * into labels so that one family carries every variant:
 *   packetsIn                          → hearsay_packets_in_total
 *   dropped.bad-version                → hearsay_dropped_total{reason="bad-version"}
 *   transport.datagram.bytesOut        → hearsay_transport_bytes_out_total{channel="datagram"}
 *   transport.dropped.read-timeout     → hearsay_transport_dropped_total{reason="read-timeout"}
 *   agent.joinAttempts                 → hearsay_agent_join_attempts_total
 * Keys that hold a level rather than a count are gauges: healthScore → hearsay_health_score,
 * members.active → hearsay_members_active, members.total → hearsay_member_table_entries,
 * transport.stream.connectionsOpen → hearsay_transport_connections_open (and any key ending in
 * "Open" or "Gauge").
 */
import type { Agent } from './types.js';
import type { MemberStatus } from '../wire/messages.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const STATUSES: readonly MemberStatus[] = ['alive', 'suspect', 'dead', 'left'];

/** Gauges among the counter keys, with their metric names and help. */
const GAUGES: Readonly<Record<string, readonly [string, string]>> = {
  healthScore: ['hearsay_health_score', 'Lifeguard local health score (0 is healthy; each point stretches probe intervals and timeouts).'],
  'members.active': ['hearsay_members_active', 'Members alive or suspect, this node included.'],
  'members.total': ['hearsay_member_table_entries', 'Entries in the member table, tombstones (dead, left) included.'],
  'transport.stream.connectionsOpen': ['hearsay_transport_connections_open', 'TCP connections open now.'],
  'services.local': ['hearsay_services_local', 'Service instances registered with this agent.'],
  'services.indexed': ['hearsay_services_indexed', 'Service instances on live nodes in this agent\'s index (the whole mesh as it sees it).'],
};

/** Help text for the counters the agent keeps; others get a generic line. */
const KNOWN_HELP: Readonly<Record<string, string>> = {
  hearsay_packets_in_total: 'Packets handed to the membership protocol.',
  hearsay_packets_out_total: 'Packets the membership protocol sent.',
  hearsay_bytes_in_total: 'Bytes handed to the membership protocol.',
  hearsay_bytes_out_total: 'Bytes the membership protocol sent.',
  hearsay_messages_in_total: 'Protocol messages received (a packet may carry several).',
  hearsay_dropped_total: 'Packets or messages the membership protocol dropped, by reason.',
  hearsay_probes_total: 'Failure-detector probes started.',
  hearsay_probe_failures_total: 'Probes that got no ack, directly or indirectly.',
  hearsay_suspicions_raised_total: 'Members this node started suspecting.',
  hearsay_deaths_declared_total: 'Members this node declared dead.',
  hearsay_refutations_total: 'Times this node refuted a suspicion or death of itself.',
  hearsay_push_pulls_sent_total: 'Full-state exchanges (push-pull) this node started.',
  hearsay_push_pulls_received_total: 'Full-state exchanges (push-pull) other nodes started with this one.',
  hearsay_transport_packets_in_total: 'Packets received by the transport, by channel (datagram = UDP, stream = TCP).',
  hearsay_transport_packets_out_total: 'Packets sent by the transport, by channel.',
  hearsay_transport_bytes_in_total: 'Bytes received by the transport, by channel.',
  hearsay_transport_bytes_out_total: 'Bytes sent by the transport, by channel.',
  hearsay_transport_dropped_total: 'Packets the transport dropped, by reason.',
  hearsay_services_publishes_total: "Times this node's service state was published (a new incarnation).",
  hearsay_services_publishes_coalesced_total: 'Service state changes folded into a later publication (rate limit).',
  hearsay_services_check_runs_total: 'Health check results received (runs and TTL updates).',
  hearsay_services_deregistered_critical_total: 'Instances deregistered because a check stayed critical past deregisterCriticalAfter.',
};

/** Optional extra an agent may provide; not part of the Agent interface. */
interface MaybeHealth {
  readonly healthScore?: number | (() => number);
}

interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

interface Family {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly samples: Sample[];
}

/** Renders the agent's metrics; `profile` becomes a label of `hearsay_info`. */
export function renderMetrics(agent: Agent, options: { readonly profile?: string } = {}): string {
  const families = new Map<string, Family>();
  const add = (name: string, type: Family['type'], help: string, sample: Sample): void => {
    let family = families.get(name);
    if (family === undefined) {
      family = { name, type, help, samples: [] };
      families.set(name, family);
    }
    family.samples.push(sample);
  };

  add('hearsay_info', 'gauge', 'Constant 1, labelled with this node name and timing profile.', {
    labels: { name: agent.name, ...(options.profile === undefined ? {} : { profile: options.profile }) },
    value: 1,
  });

  const views = agent.memberViews();
  const byStatus = new Map<MemberStatus, number>(STATUSES.map((s) => [s, 0]));
  for (const v of views) byStatus.set(v.status, (byStatus.get(v.status) ?? 0) + 1);
  for (const status of STATUSES) {
    add('hearsay_members', 'gauge', 'Entries in the member table (this node included), by status.', {
      labels: { status },
      value: byStatus.get(status) ?? 0,
    });
  }
  const self = views.find((v) => v.name === agent.name);
  if (self !== undefined) {
    add('hearsay_local_incarnation', 'gauge', "This node's incarnation number (raised by refutations and state updates).", {
      labels: {},
      value: self.incarnation,
    });
  }

  const health = (agent as unknown as MaybeHealth).healthScore;
  const healthValue = typeof health === 'function' ? health.call(agent) : health;
  if (typeof healthValue === 'number') {
    add('hearsay_health_score', 'gauge', (GAUGES.healthScore as readonly [string, string])[1], { labels: {}, value: healthValue });
  }

  const counters = agent.counters();
  for (const key of Object.keys(counters).sort()) {
    const value = counters[key];
    if (typeof value !== 'number') continue;
    const m = metricForKey(key);
    if (m === undefined) continue;
    const existing = families.get(m.name);
    if (existing !== undefined && existing.type !== m.type) continue;
    if (existing !== undefined && m.name === 'hearsay_health_score' && existing.samples.length > 0) continue;
    add(m.name, m.type, m.help, { labels: m.labels, value });
  }

  const lines: string[] = [];
  for (const f of families.values()) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    lines.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(`${f.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
  return `${lines.join('\n')}\n`;
}

interface MetricName {
  readonly name: string;
  readonly type: Family['type'];
  readonly help: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** How a counters() key is exposed (see the file comment); undefined if it makes no metric name. */
export function metricForKey(key: string): MetricName | undefined {
  const gauge = GAUGES[key];
  if (gauge !== undefined) return { name: gauge[0], type: 'gauge', help: gauge[1], labels: {} };
  let segments = key.split('.');
  const labels: Record<string, string> = {};
  const dropped = segments.indexOf('dropped');
  if (dropped >= 0 && dropped === segments.length - 2) {
    labels.reason = segments[dropped + 1] as string;
    segments = segments.slice(0, dropped + 1);
  }
  if (segments[0] === 'transport' && (segments[1] === 'datagram' || segments[1] === 'stream') && segments.length > 2) {
    labels.channel = segments[1];
    segments = [segments[0], ...segments.slice(2)];
  }
  const last = segments[segments.length - 1] ?? '';
  const isGauge = /(Open|Gauge)$/.test(last);
  if (isGauge) segments[segments.length - 1] = last.replace(/Gauge$/, '');
  const stem = segments.map(metricStem).filter((x) => x !== '').join('_');
  if (stem === '') return undefined;
  const name = isGauge ? `hearsay_${stem}` : `hearsay_${stem.replace(/_total$/, '')}_total`;
  return {
    name,
    type: isGauge ? 'gauge' : 'counter',
    help: KNOWN_HELP[name] ?? `Agent ${isGauge ? 'gauge' : 'counter'} ${JSON.stringify(key)} from agent.counters()${'reason' in labels ? ', by reason' : ''}.`,
    labels,
  };
}

/** `packetsIn` → `packets_in`; anything outside [a-z0-9_] becomes `_`. */
export function metricStem(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '')
    .replace(/^([0-9])/, '_$1');
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
