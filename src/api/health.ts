/**
 * The `agent-health` event of GET /v1/events?health: every `healthIntervalMs` a summary of the
 * agent's own health over the interval just ended (what the web view charts): packets and bytes,
 * drops by reason, probes and their round trips, members by status, the Lifeguard health score and
 * the event-loop delay. One sampler serves every stream that asked, and runs only while one is open
 * (its event-loop monitor too), so an agent nobody watches pays nothing.
 */
import type { IntervalHistogram } from 'node:perf_hooks';
import type { AgentCounters, AgentHistograms } from '../agent/types.js';
import type { HistogramSnapshot } from '../util/histogram.js';

/** Round trips of the probes answered in the interval, by the path the ack took. */
export interface RttSummary {
  readonly count: number;
  /** Milliseconds; null when no probe was answered this way in the interval. */
  readonly meanMs: number | null;
  /** The upper bound of the bucket that holds the 99th percentile, in milliseconds; null as meanMs. */
  readonly p99Ms: number | null;
}

/** The data of one `agent-health` event. */
export interface AgentHealthSample {
  /** The end of the interval (wall clock, ISO 8601). */
  readonly at: string;
  readonly intervalMs: number;
  readonly members: { readonly alive: number; readonly suspect: number; readonly dead: number; readonly left: number };
  readonly healthScore: number;
  readonly incarnation: number;
  /** In the interval: */
  readonly packetsIn: number;
  readonly packetsOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly probes: number;
  readonly probeFailures: number;
  /** Drops in the interval by counter key (`dropped.malformed`, `transport.dropped.read-timeout`, `security.dropped.no-key`, ...); only those that grew. */
  readonly dropped: Readonly<Record<string, number>>;
  readonly probeRtt: { readonly direct: RttSummary; readonly indirect: RttSummary; readonly stream: RttSummary };
  /** Event-loop delay over the interval (10 ms resolution, so it includes up to that much); null on the first sample. */
  readonly eventLoopLagMs: { readonly mean: number; readonly p99: number; readonly max: number } | null;
}

export interface HealthSource {
  counters(): AgentCounters;
  histograms(): AgentHistograms;
}

const DROP_KEY = /^(?:transport\.|security\.)?dropped\./;

/** The round trips observed between two snapshots of one histogram (seconds in, milliseconds out). */
export function rttBetween(before: HistogramSnapshot | undefined, after: HistogramSnapshot | undefined): RttSummary {
  if (after === undefined) return { count: 0, meanMs: null, p99Ms: null };
  const count = after.count - (before?.count ?? 0);
  if (count <= 0) return { count: 0, meanMs: null, p99Ms: null };
  const sum = after.sum - (before?.sum ?? 0);
  const rank = Math.ceil(count * 0.99);
  let p99: number | null = null;
  for (let i = 0; i < after.bounds.length; i++) {
    if ((after.cumulative[i] ?? 0) - (before?.cumulative[i] ?? 0) >= rank) {
      p99 = (after.bounds[i] as number) * 1000;
      break;
    }
  }
  // Beyond the largest bound: the largest bound is all that is known.
  p99 ??= (after.bounds.at(-1) ?? 0) * 1000;
  return { count, meanMs: (sum / count) * 1000, p99Ms: p99 };
}

/** One health sample from the counters and histograms before and after an interval. */
export function healthSample(
  before: { counters: AgentCounters; histograms: AgentHistograms },
  after: { counters: AgentCounters; histograms: AgentHistograms },
  intervalMs: number,
  at: Date,
  lag: AgentHealthSample['eventLoopLagMs'],
): AgentHealthSample {
  const now = after.counters;
  const delta = (key: string): number => Math.max(0, (now[key] ?? 0) - (before.counters[key] ?? 0));
  const dropped: Record<string, number> = {};
  for (const key of Object.keys(now)) {
    if (!DROP_KEY.test(key)) continue;
    const d = delta(key);
    if (d > 0) dropped[key] = d;
  }
  const rtt = (path: 'direct' | 'indirect' | 'stream'): RttSummary => rttBetween(before.histograms[`probeRtt.${path}`], after.histograms[`probeRtt.${path}`]);
  return {
    at: at.toISOString(),
    intervalMs,
    members: { alive: now['members.alive'] ?? 0, suspect: now['members.suspect'] ?? 0, dead: now['members.dead'] ?? 0, left: now['members.left'] ?? 0 },
    healthScore: now['healthScore'] ?? 0,
    incarnation: now['incarnation'] ?? 0,
    packetsIn: delta('packetsIn'),
    packetsOut: delta('packetsOut'),
    bytesIn: delta('bytesIn'),
    bytesOut: delta('bytesOut'),
    probes: delta('probes'),
    probeFailures: delta('probeFailures'),
    dropped,
    probeRtt: { direct: rtt('direct'), indirect: rtt('indirect'), stream: rtt('stream') },
    eventLoopLagMs: lag,
  };
}

/** Samples every `intervalMs` while anyone listens; listeners get each sample. */
export class HealthSampler {
  private readonly listeners = new Set<(sample: AgentHealthSample) => void>();
  private timer: NodeJS.Timeout | undefined;
  private delay: IntervalHistogram | undefined;
  private last: { counters: AgentCounters; histograms: AgentHistograms; at: number } | undefined;

  constructor(
    private readonly source: HealthSource,
    readonly intervalMs: number,
  ) {}

  /** Adds a listener (starting the sampler with the first); returns the function that removes it. */
  subscribe(listener: (sample: AgentHealthSample) => void): () => void {
    this.listeners.add(listener);
    if (this.timer === undefined) this.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.delay?.disable();
    this.delay = undefined;
    this.last = undefined;
  }

  private start(): void {
    // node:perf_hooks with the first sample (the first /v1/events health subscriber), not at start
    this.delay = process.getBuiltinModule('node:perf_hooks').monitorEventLoopDelay({ resolution: 10 });
    this.delay.enable();
    this.last = { counters: { ...this.source.counters() }, histograms: this.source.histograms(), at: performance.now() };
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private tick(): void {
    const before = this.last;
    if (before === undefined) return;
    const after = { counters: { ...this.source.counters() }, histograms: this.source.histograms(), at: performance.now() };
    this.last = after;
    let lag: AgentHealthSample['eventLoopLagMs'] = null;
    const d = this.delay;
    if (d !== undefined && d.count > 0) {
      lag = { mean: d.mean / 1e6, p99: d.percentile(99) / 1e6, max: d.max / 1e6 };
      d.reset();
    }
    const sample = healthSample(before, after, Math.round(after.at - before.at), new Date(), lag);
    for (const l of [...this.listeners]) l(sample);
  }
}
