/**
 * The process and Node.js runtime families: sane values from this very process, read the way
 * prom-client reads them.
 */
import { describe, expect, it } from 'vitest';
import { readMaxFds, readProcStatus, RuntimeMetrics } from '../../src/api/runtime-metrics.js';

const linux = process.platform === 'linux';

describe('RuntimeMetrics', () => {
  it.skipIf(!linux)('reads the process figures from /proc with sane values', async () => {
    const r = new RuntimeMetrics();
    const { values, samples } = await r.collect();
    r.stop();
    const nowSeconds = Date.now() / 1000;
    expect(values['process.residentMemoryBytes']).toBeGreaterThan(1024 * 1024);
    expect(values['process.virtualMemoryBytes']).toBeGreaterThanOrEqual(values['process.residentMemoryBytes'] as number);
    expect(values['process.heapBytes']).toBeGreaterThan(0);
    // Started in the past, and not before this process did (the round-off is a second at most).
    // /proc gives the boot time in whole seconds, so the start time may read up to a second late.
    expect(values['process.startTimeSeconds']).toBeLessThanOrEqual(nowSeconds + 1);
    expect(values['process.startTimeSeconds']).toBeGreaterThanOrEqual(Math.floor(nowSeconds - process.uptime()) - 1);
    expect(values['process.openFds']).toBeGreaterThan(2);
    expect(values['process.maxFds']).toBeGreaterThanOrEqual(values['process.openFds'] as number);
    expect(values['process.cpuUserSeconds']).toBeGreaterThan(0);
    expect(values['process.cpuSeconds']).toBeCloseTo((values['process.cpuUserSeconds'] as number) + (values['process.cpuSystemSeconds'] as number), 9);
    expect(values['nodejs.eventloopLag']).toBeGreaterThanOrEqual(0);
    expect(values['nodejs.heapSizeUsed']).toBeGreaterThan(0);
    expect(values['nodejs.heapSizeTotal']).toBeGreaterThanOrEqual(values['nodejs.heapSizeUsed'] as number);
    expect(values['nodejs.activeHandles']).toBeGreaterThanOrEqual(0);
    expect(values['nodejs.activeRequests']).toBeGreaterThanOrEqual(0);
    const spaces = samples['nodejs_heap_space_size_used_bytes']?.map((s) => s.labels.space);
    expect(spaces).toContain('old');
    expect(spaces).toContain('new');
    const [major, minor, patch] = process.versions.node.split('.');
    expect(samples['nodejs_version_info']).toEqual([{ labels: { version: process.version, major, minor, patch }, value: 1 }]);
  });

  it('summarizes the event-loop delay since the last scrape (NaN before the monitor has a sample), then resets', async () => {
    const r = new RuntimeMetrics();
    try {
      const first = await r.collect(); // starts the monitor
      expect(first.values['nodejs.eventloopLagP99']).toBeNaN();
      let v: Record<string, number> = {};
      for (let i = 0; i < 200 && !Number.isFinite(v['nodejs.eventloopLagMax']); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        v = (await r.collect()).values;
      }
      const min = v['nodejs.eventloopLagMin'] as number;
      expect(min).toBeGreaterThan(0);
      expect(v['nodejs.eventloopLagP50']).toBeGreaterThanOrEqual(min);
      expect(v['nodejs.eventloopLagP99']).toBeGreaterThanOrEqual(v['nodejs.eventloopLagP50'] as number);
      expect(v['nodejs.eventloopLagMax']).toBeGreaterThanOrEqual(v['nodejs.eventloopLagP99'] as number);
      expect(v['nodejs.eventloopLagMean']).toBeGreaterThanOrEqual(min);
      expect(v['nodejs.eventloopLagStddev']).toBeGreaterThanOrEqual(0);
    } finally {
      r.stop();
    }
  });

  it('counts garbage collections by kind once it is scraped', async () => {
    const r = new RuntimeMetrics();
    try {
      await r.collect();
      let minor = 0;
      for (let round = 0; round < 200 && minor === 0; round++) {
        // Short-lived garbage: young-generation collections follow.
        let keep = 0;
        for (let i = 0; i < 20_000; i++) keep += new Array(16).fill(i).length;
        expect(keep).toBeGreaterThan(0);
        await new Promise((resolve) => setTimeout(resolve, 5));
        minor = (await r.collect()).histograms['gc.minor']?.count ?? 0;
      }
      expect(minor).toBeGreaterThan(0);
    } finally {
      r.stop();
    }
  });

  it('reports nothing once stopped (a closing server)', async () => {
    const r = new RuntimeMetrics();
    r.stop();
    expect(await r.collect()).toEqual({ values: {}, samples: {}, histograms: {} });
  });
});

describe('the /proc readers', () => {
  it('read VmRSS, VmSize and VmData in bytes, and the soft open-file limit', () => {
    const status = 'Name:\tnode\nVmPeak:\t  999 kB\nVmSize:\t 2048 kB\nVmData:\t  512 kB\nVmRSS:\t 1024 kB\n';
    expect(readProcStatus(status)).toEqual({ rss: 1024 * 1024, vsize: 2048 * 1024, data: 512 * 1024 });
    expect(readProcStatus('Name:\tnode\n')).toBeUndefined();
    const limits = 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n';
    expect(readMaxFds(limits)).toBe(1024);
    expect(readMaxFds('Max open files            unlimited            unlimited            files\n')).toBe(Infinity);
    expect(readMaxFds('nothing here')).toBeUndefined();
  });
});
