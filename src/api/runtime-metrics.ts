/**
 * The process and Node.js runtime families of the catalog, under prom-client's names and with its
 * semantics (lib/metrics/ in siimon/prom-client), read when /metrics is scraped: CPU time from
 * process.cpuUsage(), memory from /proc/self/status (VmRSS, VmSize, VmData), file descriptors from
 * /proc/self/fd and /proc/self/limits, heap figures from process.memoryUsage() and
 * v8.getHeapSpaceStatistics(). Event-loop lag, which Lifeguard depends on (a stalled loop looks like
 * a slow network), two ways as prom-client: the delay of a setImmediate issued by the scrape, and
 * perf_hooks.monitorEventLoopDelay (10 ms resolution) summarized and reset at each scrape. GC pauses
 * go to a histogram from a `gc` PerformanceObserver. The monitors start with the first scrape (an
 * agent nobody scrapes does not pay for them: at 10 ms the delay monitor costs about 0.4% of a core,
 * as much again as an idle agent) and run until stop(); the first scrape's lag summaries are
 * therefore NaN and its GC histogram empty.
 *
 * Two deliberate differences from prom-client: the CPU counters are the process's whole CPU time
 * (prom-client counts from when it was loaded), and with no event-loop sample since the last
 * scrape the lag summaries are NaN rather than V8's placeholders (min 9.2e18, max 0).
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { IntervalHistogram, PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { GC_DURATION_BUCKETS, GC_KINDS } from '../agent/counters.js';
import { Histogram, type HistogramSnapshot } from '../util/histogram.js';
import type { Sample } from './prometheus.js';

type GcKind = (typeof GC_KINDS)[number];

// node:perf_hooks and node:v8 are loaded with the first scrape, not with the agent: an agent that
// is never scraped never loads them (about 1 ms of start CPU, bench:light).
const perfHooks = () => process.getBuiltinModule('node:perf_hooks');

/** The GC kinds by perf_hooks' codes (built at the first scrape, with the module). */
function gcKindsByCode(): Readonly<Record<number, GcKind>> {
  const c = perfHooks().constants;
  return {
    [c.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [c.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [c.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [c.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
}

/** process_start_time_seconds, as prom-client: when this module loaded, minus the uptime, in whole seconds. */
const START_TIME_SECONDS = Math.round(Date.now() / 1000 - process.uptime());

/** What one scrape of the runtime gives the renderer. */
export interface RuntimeSnapshot {
  readonly values: Record<string, number>;
  readonly samples: Record<string, Sample[]>;
  readonly histograms: Record<string, HistogramSnapshot>;
}

/** VmRSS, VmSize and VmData of /proc/self/status, in bytes; undefined where there is no /proc. */
export function readProcStatus(text?: string): { rss: number; vsize: number; data: number } | undefined {
  let status: string;
  try {
    status = text ?? readFileSync('/proc/self/status', 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string): number | undefined => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m === null ? undefined : Number(m[1]) * 1024;
  };
  const rss = kb('VmRSS');
  const vsize = kb('VmSize');
  const data = kb('VmData');
  return rss === undefined || vsize === undefined || data === undefined ? undefined : { rss, vsize, data };
}

/** The soft limit on open files (/proc/self/limits), or undefined. */
export function readMaxFds(text?: string): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(text ?? readFileSync('/proc/self/limits', 'utf8'));
    if (m === null) return undefined;
    return m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** Open file descriptors (/proc/self/fd, less the one reading it), or undefined. */
export function readOpenFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return undefined;
  }
}

const processInternals = process as unknown as { _getActiveHandles?: () => unknown[]; _getActiveRequests?: () => unknown[] };

export class RuntimeMetrics {
  private delay: IntervalHistogram | undefined;
  private gcObserver: PerformanceObserver | undefined;
  private readonly gc: Record<GcKind, Histogram>;
  private stopped = false;

  constructor() {
    const gc = {} as Record<GcKind, Histogram>;
    for (const k of GC_KINDS) gc[k] = new Histogram(GC_DURATION_BUCKETS);
    this.gc = gc;
  }

  /** Starts the event-loop delay monitor and the GC observer. Idempotent; nothing after stop(). */
  start(): void {
    if (this.delay !== undefined || this.stopped) return;
    this.delay = perfHooks().monitorEventLoopDelay({ resolution: 10 });
    this.delay.enable();
    const kindsByCode = gcKindsByCode();
    this.gcObserver = new (perfHooks().PerformanceObserver)((list) => {
      for (const entry of list.getEntries()) {
        const kind = kindsByCode[(entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1];
        if (kind !== undefined) this.gc[kind].observe(entry.duration / 1000);
      }
    });
    this.gcObserver.observe({ entryTypes: ['gc'] });
  }

  /** Stops both monitors for good. Idempotent. */
  stop(): void {
    this.stopped = true;
    this.delay?.disable();
    this.delay = undefined;
    this.gcObserver?.disconnect();
    this.gcObserver = undefined;
  }

  /** Reads everything once (starting the monitors the first time). Waits for one turn of the event loop: that wait is nodejs_eventloop_lag_seconds. */
  async collect(): Promise<RuntimeSnapshot> {
    if (this.stopped) return { values: {}, samples: {}, histograms: {} };
    this.start();
    const waitStart = performance.now();
    await new Promise<void>((resolve) => setImmediate(resolve));
    const lag = (performance.now() - waitStart) / 1000;

    const values: Record<string, number> = {};
    const cpu = process.cpuUsage();
    values['process.cpuUserSeconds'] = cpu.user / 1e6;
    values['process.cpuSystemSeconds'] = cpu.system / 1e6;
    values['process.cpuSeconds'] = (cpu.user + cpu.system) / 1e6;
    values['process.startTimeSeconds'] = START_TIME_SECONDS;
    const mem = process.memoryUsage();
    const status = readProcStatus();
    values['process.residentMemoryBytes'] = status?.rss ?? mem.rss;
    if (status !== undefined) {
      values['process.virtualMemoryBytes'] = status.vsize;
      values['process.heapBytes'] = status.data;
    }
    const open = readOpenFds();
    if (open !== undefined) values['process.openFds'] = open;
    const max = readMaxFds();
    if (max !== undefined) values['process.maxFds'] = max;

    values['nodejs.eventloopLag'] = lag;
    const d = this.delay;
    const summary = (f: (h: IntervalHistogram) => number): number => (d === undefined || d.count === 0 ? NaN : f(d) / 1e9);
    values['nodejs.eventloopLagMin'] = summary((h) => h.min);
    values['nodejs.eventloopLagMax'] = summary((h) => h.max);
    values['nodejs.eventloopLagMean'] = summary((h) => h.mean);
    values['nodejs.eventloopLagStddev'] = summary((h) => h.stddev);
    values['nodejs.eventloopLagP50'] = summary((h) => h.percentile(50));
    values['nodejs.eventloopLagP90'] = summary((h) => h.percentile(90));
    values['nodejs.eventloopLagP99'] = summary((h) => h.percentile(99));
    d?.reset();

    const handles = processInternals._getActiveHandles?.();
    if (handles !== undefined) values['nodejs.activeHandles'] = handles.length;
    const requests = processInternals._getActiveRequests?.();
    if (requests !== undefined) values['nodejs.activeRequests'] = requests.length;
    values['nodejs.heapSizeTotal'] = mem.heapTotal;
    values['nodejs.heapSizeUsed'] = mem.heapUsed;
    values['nodejs.externalMemory'] = mem.external;

    const total: Sample[] = [];
    const used: Sample[] = [];
    const available: Sample[] = [];
    for (const s of process.getBuiltinModule('node:v8').getHeapSpaceStatistics()) {
      const at = s.space_name.indexOf('_space');
      const labels = { space: at < 0 ? s.space_name : s.space_name.slice(0, at) };
      total.push({ labels, value: s.space_size });
      used.push({ labels, value: s.space_used_size });
      available.push({ labels, value: s.space_available_size });
    }
    const [major = 0, minor = 0, patch = 0] = process.version.slice(1).split('.').map(Number);
    const samples: Record<string, Sample[]> = {
      nodejs_heap_space_size_total_bytes: total,
      nodejs_heap_space_size_used_bytes: used,
      nodejs_heap_space_size_available_bytes: available,
      nodejs_version_info: [{ labels: { version: process.version, major: String(major), minor: String(minor), patch: String(patch) }, value: 1 }],
    };

    const histograms: Record<string, HistogramSnapshot> = {};
    for (const k of GC_KINDS) histograms[`gc.${k}`] = this.gc[k].snapshot();
    return { values, samples, histograms };
  }
}
