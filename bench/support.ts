/**
 * What every benchmark shares: its command line (numbers with bounds, every problem named, exit 2
 * with the usage line) and the statistics it reports (percentiles, medians, rounding).
 */
import { parseArgs } from 'node:util';

export type ArgSpec =
  | { readonly type: 'int' | 'number'; readonly default: number; readonly min?: number; readonly below?: number; readonly hint?: string }
  | { readonly type: 'string'; readonly default: string }
  | { readonly type: 'boolean' };

type ArgValue<S extends ArgSpec> = S extends { type: 'boolean' } ? boolean : S extends { type: 'string' } ? string : number;
export type ArgValues<A extends Readonly<Record<string, ArgSpec>>> = { readonly [K in keyof A]: ArgValue<A[K]> };

/** Parses `process.argv` against `specs`; a bad value prints the problem and `usage` and exits 2. */
export function benchArgs<A extends Readonly<Record<string, ArgSpec>>>(bench: string, usage: string, specs: A): ArgValues<A> {
  const fail = (message: string): never => {
    process.stderr.write(`${bench}: ${message}\nusage: ${usage}\n`);
    process.exit(2);
  };
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [k, s] of Object.entries(specs)) options[k] = { type: s.type === 'boolean' ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | undefined> = {};
  try {
    values = parseArgs({ options, strict: true }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    fail((err as Error).message);
  }
  const out: Record<string, string | number | boolean> = {};
  for (const [k, s] of Object.entries(specs)) {
    const raw = values[k];
    if (s.type === 'boolean') out[k] = raw === true;
    else if (s.type === 'string') out[k] = typeof raw === 'string' ? raw : s.default;
    else {
      const v = typeof raw === 'string' ? Number(raw) : s.default;
      const bad = !Number.isFinite(v) || (s.type === 'int' && !Number.isInteger(v)) || (s.min !== undefined && v < s.min) || (s.below !== undefined && v >= s.below);
      if (bad) {
        const bounds = [s.min === undefined ? '' : `>= ${s.min}`, s.below === undefined ? '' : `< ${s.below}`].filter((b) => b !== '').join(' and ');
        fail(`--${k} must be ${s.type === 'int' ? 'an integer' : 'a number'}${bounds === '' ? '' : ` ${bounds}`}${s.hint === undefined ? '' : ` (${s.hint})`} (got ${String(raw)})`);
      }
      out[k] = v;
    }
  }
  return out as ArgValues<A>;
}

/** The p-th percentile of an ascending array (nearest rank), or null when it is empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export function median(xs: readonly number[]): number | null {
  return percentile([...xs].sort((a, b) => a - b), 50);
}

export function round(x: number, digits = 0): number {
  return Math.round(x * 10 ** digits) / 10 ** digits;
}
