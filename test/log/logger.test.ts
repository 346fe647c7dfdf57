/**
 * src/log/logger.ts writes the lines pino wrote (pino stays a devDependency as the reference, as
 * msgpackr does for the codec): the same calls into both give the same lines, byte for byte once
 * the time is masked.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, silentLogger, type Logger } from '../../src/log/logger.js';

function pair(level: 'trace' | 'debug' | 'info' | 'warn' = 'info', isoTime = false): { ours: Logger; theirs: Logger; lines: () => [string[], string[]] } {
  const a: string[] = [];
  const b: string[] = [];
  const ours = createLogger({ write: (s: string) => void a.push(s) }, { level, isoTime });
  const theirs = pino({ level, ...(isoTime ? { timestamp: pino.stdTimeFunctions.isoTime } : {}) }, { write: (s: string) => void b.push(s) });
  const mask = (l: string): string => l.replace(/"time":("[^"]*"|\d+)/, '"time":T');
  return { ours, theirs, lines: () => [a.map(mask), b.map(mask)] };
}

describe('the logger', () => {
  it('writes what pino writes: levels, bindings of nested children, fields, messages, Errors', () => {
    const { ours, theirs, lines } = pair('debug');
    const cause = new Error('root cause');
    const err = Object.assign(new TypeError('bad thing', { cause }), { code: 'E_BAD' });
    for (const log of [ours, theirs]) {
      const agent = log.child({ node: 'web-1', component: 'agent' });
      const inner = agent.child({ member: 'web-2' });
      log.info('plain message');
      agent.info({ bind: '127.0.0.1:7946', n: 3, ok: true, list: [1, 'a'], nested: { x: null } }, 'agent started');
      inner.warn({ addr: '10.0.0.7:7946', quote: 'a "b"\n' }, 'member-suspect');
      agent.error({ err }, 'close failed');
      agent.debug({ skipped: undefined, kept: 0 }, 'debug line');
      agent.trace({ never: 1 }, 'below the level');
      agent.info({ k: 'v' });
      agent.fatal(err, 'an Error as the fields');
    }
    const [a, b] = lines();
    expect(a).toHaveLength(7);
    expect(a).toEqual(b);
  });

  it('writes ISO times when asked, as pino.stdTimeFunctions.isoTime does', () => {
    const { ours, theirs, lines } = pair('info', true);
    const raw: string[] = [];
    createLogger({ write: (s: string) => void raw.push(s) }, { isoTime: true }).info('x');
    expect(JSON.parse(raw[0] as string).time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    ours.info({ a: 1 }, 'm');
    theirs.info({ a: 1 }, 'm');
    const [a, b] = lines();
    expect(a).toEqual(b);
  });

  it('lets children follow their root level as it changes, and answers isLevelEnabled', () => {
    const out: string[] = [];
    const root = createLogger({ write: (s: string) => void out.push(s) }, { level: 'warn' });
    const child = root.child({ component: 'x' });
    child.info('hidden');
    expect(child.isLevelEnabled('info')).toBe(false);
    root.level = 'debug';
    expect(child.level).toBe('debug');
    expect(child.isLevelEnabled('debug')).toBe(true);
    child.info('shown');
    root.level = 'silent';
    child.fatal('hidden too');
    expect(root.isLevelEnabled('silent')).toBe(false);
    expect(out.map((l) => JSON.parse(l).msg)).toEqual(['shown']);
    expect(() => (root.level = 'loud')).toThrow(/unknown log level "loud"/);
  });

  it('never throws on what it is given: circular fields and BigInts', () => {
    const out: string[] = [];
    const log = createLogger({ write: (s: string) => void out.push(s) });
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = loop;
    log.info({ loop, big: 10n, twice: [{ x: 1 }, { x: 1 }] }, 'odd');
    expect(JSON.parse(out[0] as string)).toMatchObject({ loop: { a: 1, self: '[Circular]' }, big: '10', twice: [{ x: 1 }, { x: 1 }], msg: 'odd' });
  });

  it('has a silent logger that writes nothing and takes a pino logger where a Logger goes', () => {
    const s = silentLogger();
    s.fatal('nothing');
    expect(s.level).toBe('silent');
    const fromPino: Logger = pino({ level: 'silent' });
    expect(fromPino.child({ a: 1 }).isLevelEnabled('info')).toBe(false);
  });
});
