/**
 * `hearsay watch NAME`: prints a service's instances, then every change, with blocking queries
 * (GET /v1/services/NAME?index=N&wait=5m) until interrupted: "+" added, "-" removed, "~" changed.
 * With --json, one JSON line per answer that changed: {index, instances}.
 */
import type { ServiceInstance } from '../../registry/types.js';
import { diffInstances, hasChanges } from '../../registry/service-index.js';
import { callAgent, reportClientError, resolveHttpAddress } from '../http-client.js';
import { clientCommand } from '../client-command.js';
import type { Io } from '../command.js';
import { FILTER_FLAGS, formatChange, lookupQuery } from './service-format.js';

const flags = {
  ...FILTER_FLAGS,
  json: { type: 'boolean', description: 'one JSON line {index, instances} per change' },
} as const;

const WAIT = '5m';

export interface WatchDeps {
  /** Stops the loop (tests); the CLI stops on SIGINT. */
  readonly signal?: AbortSignal;
}

export async function runWatch(
  values: { tag: readonly string[]; status: string | undefined; json: boolean; http: string | undefined },
  io: Io,
  name: string,
  deps: WatchDeps = {},
): Promise<number> {
  const address = resolveHttpAddress(values.http);
  let index = 0;
  let last: ServiceInstance[] = [];
  let first = true;
  const stopped = (): boolean => deps.signal?.aborted === true;
  while (!stopped()) {
    let headers: Readonly<Record<string, string | string[] | undefined>> = {};
    let list: ServiceInstance[];
    try {
      const extra: Record<string, string> = first ? {} : { index: String(index), wait: WAIT };
      list = (await callAgent(address, 'GET', `/v1/services/${encodeURIComponent(name)}${lookupQuery(values.tag, values.status, extra)}`, {
        timeoutMs: 6 * 60_000,
        onHeaders: (h) => (headers = h),
        ...(deps.signal === undefined ? {} : { signal: deps.signal }),
      })) as ServiceInstance[];
    } catch (err) {
      if (stopped()) break;
      return reportClientError('watch', err, io);
    }
    const next = Number(headers['x-hearsay-index'] ?? 0);
    const diff = diffInstances(last, list);
    const changed = first || hasChanges(diff);
    if (changed) {
      if (values.json) io.stdout.write(`${JSON.stringify({ index: next, instances: list })}\n`);
      else {
        if (first) io.stdout.write(`${name}: ${list.length} instance${list.length === 1 ? '' : 's'} (index ${next})\n`);
        for (const i of diff.added) io.stdout.write(`${formatChange('+', i)}\n`);
        for (const i of diff.removed) io.stdout.write(`${formatChange('-', i)}\n`);
        for (const i of diff.updated) io.stdout.write(`${formatChange('~', i)}\n`);
      }
    }
    first = false;
    last = list;
    index = next;
  }
  return 0;
}

export const command = clientCommand({
  name: 'watch',
  summary: 'print the instances of a service, then every change, until interrupted',
  details: 'Lines: "+ ID NODE ADDRESS STATUS [TAGS]" added, "-" removed, "~" changed. Exit code 1 if the agent stops answering.',
  flags,
  args: { placeholder: 'NAME', description: 'the service name', min: 1, max: 1 },
  async run(_client, values, args, io) {
    const ac = new AbortController();
    const stop = (): void => ac.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      return await runWatch(values, io, args[0] as string, { signal: ac.signal });
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  },
});
