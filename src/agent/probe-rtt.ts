/**
 * Probe round-trip times on the agent's own clock: the core reports when a probe's ping went out
 * (`probe-sent`) and when its first ack came back (`probe-acked`, with the path it took) but reads
 * no clock, so the agent notes the time of each report (they are handed over synchronously, in
 * the input that produced them) and the difference is the round trip, in sub-millisecond steps
 * (the core's own ticks are whole milliseconds).
 */
import { ACK_PATHS, type AckPath, type Report } from '../membership/types.js';
import { Histogram, type HistogramSnapshot } from '../util/histogram.js';
import { PROBE_RTT_BUCKETS } from './counters.js';

export class ProbeRtt {
  private readonly byPath: Record<AckPath, Histogram>;
  /** The probe in flight (the core runs one at a time): its sequence number and when its ping went out. */
  private sent: { seq: number; at: number } | null = null;

  /** `clock` is monotonic milliseconds with a fraction (performance.now). */
  constructor(private readonly clock: () => number) {
    const byPath = {} as Record<AckPath, Histogram>;
    for (const p of ACK_PATHS) byPath[p] = new Histogram(PROBE_RTT_BUCKETS);
    this.byPath = byPath;
  }

  report(report: Report): void {
    if (report.kind === 'probe-sent') {
      this.sent = { seq: report.seq, at: this.clock() };
    } else if (report.kind === 'probe-acked') {
      const s = this.sent;
      if (s === null || s.seq !== report.seq) return;
      this.sent = null;
      this.byPath[report.path].observe(Math.max(0, this.clock() - s.at) / 1000);
    }
  }

  /** hearsay_probe_rtt_seconds by catalog key (`probeRtt.direct`, ...). */
  histograms(): Record<string, HistogramSnapshot> {
    const out: Record<string, HistogramSnapshot> = {};
    for (const p of ACK_PATHS) out[`probeRtt.${p}`] = this.byPath[p].snapshot();
    return out;
  }
}
