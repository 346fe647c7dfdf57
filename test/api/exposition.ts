/** A strict parser of the Prometheus text format, for the /metrics tests. */
import { expect } from 'vitest';

export interface Exposition {
  readonly help: Map<string, string>;
  readonly type: Map<string, string>;
  /** `name{labels}` → value, in order. */
  readonly samples: Map<string, number>;
}

/**
 * Parses the text format strictly: every sample's family has HELP and TYPE lines before it, and a
 * family's samples are contiguous (a histogram's _bucket, _sum and _count lines belong to it).
 */
export function parse(text: string): Exposition {
  expect(text.endsWith('\n')).toBe(true);
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const samples = new Map<string, number>();
  const finished = new Set<string>();
  let current: string | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    let m: RegExpMatchArray | null;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line)) !== null) {
      expect(help.has(m[1] as string), `duplicate HELP for ${m[1]}`).toBe(false);
      help.set(m[1] as string, m[2] as string);
    } else if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line)) !== null) {
      expect(type.has(m[1] as string), `duplicate TYPE for ${m[1]}`).toBe(false);
      type.set(m[1] as string, m[2] as string);
    } else if ((m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/.exec(line)) !== null) {
      const sample = m[1] as string;
      const stem = sample.replace(/_(bucket|sum|count)$/, '');
      const name = type.get(stem) === 'histogram' ? stem : sample;
      if (name !== current) {
        expect(finished.has(name), `samples of ${name} are not contiguous`).toBe(false);
        if (current !== undefined) finished.add(current);
        current = name;
      }
      expect(help.has(name), `sample ${line} has no HELP before it`).toBe(true);
      expect(type.has(name), `sample ${line} has no TYPE before it`).toBe(true);
      samples.set(`${sample}${m[2] ?? ''}`, Number(m[3]));
    } else {
      throw new Error(`not a valid exposition line: ${JSON.stringify(line)}`);
    }
  }
  return { help, type, samples };
}
