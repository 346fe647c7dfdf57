/**
 * hearsay's logger: one NDJSON line per call, in pino's format, so that everything reading an
 * agent's logs (the CLI's text form, `hearsay monitor`, log shippers, the tests) reads the same
 * lines as before. It replaced pino (issue 12.4): pino and the modules it loads (thread-stream and
 * worker_threads, sonic-boom, redaction, assert) were 14% of the CLI bundle, about 14 ms of CPU at
 * every agent's start and 1.9 MB of its idle RSS, for the few features hearsay uses.
 *
 * A line is `{"level":30,"time":...,"pid":...,"hostname":"...",<bindings of each child, outer
 * first>,<the call's fields>,"msg":"..."}`: pino's numeric levels (trace 10 ... fatal 60), the
 * time as epoch ms or (with `isoTime`) an ISO string, an `err` field that holds an Error written
 * as pino's standard serializer writes it (`type`, `message`, `stack`, its own fields, `cause`).
 * Children see their root's level as it changes (as pino's do, through their prototype), so a
 * level set at run time reaches every component.
 *
 * `Logger` is the part of a logger hearsay calls: a pino logger has that shape, so
 * `createAgent({ logger: pino() })` keeps working.
 */
import { hostname } from 'node:os';

export type LevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
export type LevelWithSilent = LevelName | 'silent';

export const LEVEL_VALUES: Readonly<Record<LevelWithSilent, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/** A log method: fields and a message, or a message alone. */
export interface LogFn {
  (fields: object, msg?: string): void;
  (msg: string): void;
}

/** What hearsay calls on a logger (a pino logger has this shape). */
export interface Logger {
  /** The level name; setting it changes what this logger and its children write. */
  level: string;
  isLevelEnabled(level: string): boolean;
  /** A logger that adds `bindings` to every line. */
  child(bindings: Record<string, unknown>): Logger;
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
}

/** Where lines go: one call per line, each ending in a newline. */
export interface LogDestination {
  write(line: string): unknown;
}

export interface LoggerOptions {
  /** @default 'info' */
  readonly level?: LevelWithSilent;
  /** `time` as an ISO string instead of epoch ms (pino's `stdTimeFunctions.isoTime`). */
  readonly isoTime?: boolean;
}

interface Shared {
  value: number;
  readonly destination: LogDestination;
  readonly isoTime: boolean;
  /** `"pid":N,"hostname":"..."`, written once. */
  readonly base: string;
}

function levelValue(level: string): number {
  const v = (LEVEL_VALUES as Record<string, number | undefined>)[level];
  if (v === undefined) throw new Error(`unknown log level "${level}": one of ${Object.keys(LEVEL_VALUES).join(', ')}`);
  return v;
}

const NAMES = Object.keys(LEVEL_VALUES) as LevelWithSilent[];

const isErrorLike = (v: unknown): v is Error => typeof v === 'object' && v !== null && typeof (v as { message?: unknown }).message === 'string';

/** An error's cause when it is error-like (a VError-style cause is a function returning it). */
function causeOf(err: Error): Error | undefined {
  const c = (err as { cause?: unknown }).cause;
  const cause = typeof c === 'function' ? (c as () => unknown).call(err) : c;
  return isErrorLike(cause) ? cause : undefined;
}

function messageWithCauses(err: Error, seen: Set<Error>, skip = false): string {
  const message = skip ? '' : err.message || '';
  if (seen.has(err)) return `${message}: ...`;
  const cause = causeOf(err);
  if (cause === undefined) return message;
  seen.add(err);
  const vErrorStyle = typeof (err as { cause?: unknown }).cause === 'function';
  return message + (vErrorStyle ? '' : ': ') + messageWithCauses(cause, seen, vErrorStyle);
}

function stackWithCauses(err: Error, seen: Set<Error>): string {
  const stack = err.stack ?? '';
  if (seen.has(err)) return `${stack}\ncauses have become circular...`;
  const cause = causeOf(err);
  if (cause === undefined) return stack;
  seen.add(err);
  return `${stack}\ncaused by: ${stackWithCauses(cause, seen)}`;
}

/**
 * An Error as pino-std-serializers writes it: `type`, the message and stack with their causes',
 * `aggregateErrors`, then every other enumerable field (error-like ones serialized the same way,
 * except `cause`, which the message and stack already hold).
 */
function serializeError(err: Error, seen: Set<Error>): Record<string, unknown> {
  seen.add(err);
  const out: Record<string, unknown> = {
    type: typeof err.constructor === 'function' ? err.constructor.name : err.name,
    message: messageWithCauses(err, new Set()),
    stack: stackWithCauses(err, new Set()),
  };
  const errors = (err as { errors?: unknown }).errors;
  if (Array.isArray(errors)) out.aggregateErrors = errors.map((e: unknown) => (isErrorLike(e) ? serializeError(e, seen) : e));
  for (const key in err) {
    if (out[key] !== undefined) continue;
    const v = (err as unknown as Record<string, unknown>)[key];
    if (isErrorLike(v)) {
      if (key !== 'cause' && !seen.has(v)) out[key] = serializeError(v, seen);
    } else out[key] = v;
  }
  seen.delete(err);
  return out;
}

/** One value as JSON; never throws (circular references, BigInt). */
function json(v: unknown): string {
  try {
    return JSON.stringify(v, replacer()) ?? 'null';
  } catch {
    return JSON.stringify(String(v));
  }
}

function replacer(): (this: unknown, key: string, value: unknown) => unknown {
  const ancestors: unknown[] = [];
  return function (this: unknown, _key: string, value: unknown): unknown {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value !== 'object' || value === null) return value;
    // JSON.stringify calls the replacer with `this` the holder: drop the stack down to it.
    while (ancestors.length > 0 && ancestors[ancestors.length - 1] !== this) ancestors.pop();
    if (ancestors.includes(value)) return '[Circular]';
    ancestors.push(value);
    return value;
  };
}

/** `"k":v,` for each own field, `err` as an Error; undefined values are left out (as pino does). */
function fieldsOf(fields: object): string {
  let out = '';
  for (const key of Object.keys(fields)) {
    let v = (fields as Record<string, unknown>)[key];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    if (key === 'err' && isErrorLike(v)) v = serializeError(v, new Set());
    out += `${JSON.stringify(key)}:${json(v)},`;
  }
  return out;
}

class NdjsonLogger implements Logger {
  declare trace: LogFn;
  declare debug: LogFn;
  declare info: LogFn;
  declare warn: LogFn;
  declare error: LogFn;
  declare fatal: LogFn;

  constructor(
    private shared: Shared,
    /** `"k":v,` of every binding from the root down. */
    private readonly bindings: string,
  ) {
    for (const name of NAMES) {
      if (name === 'silent') continue;
      const value = LEVEL_VALUES[name];
      this[name] = (a: object | string, b?: string): void => {
        if (value < this.shared.value) return;
        this.write(value, a, b);
      };
    }
  }

  get level(): string {
    return NAMES.find((n) => LEVEL_VALUES[n] === this.shared.value) ?? 'silent';
  }

  set level(level: string) {
    this.shared.value = levelValue(level);
  }

  isLevelEnabled(level: string): boolean {
    const v = (LEVEL_VALUES as Record<string, number | undefined>)[level];
    return v !== undefined && v !== Infinity && v >= this.shared.value;
  }

  child(bindings: Record<string, unknown>): Logger {
    return new NdjsonLogger(this.shared, this.bindings + fieldsOf(bindings));
  }

  private write(value: number, a: object | string, b: string | undefined): void {
    const { shared } = this;
    let fields = '';
    let msg: unknown = b;
    if (typeof a === 'string') msg = a;
    else if (a instanceof Error) {
      fields = fieldsOf({ err: a });
      if (msg === undefined) msg = a.message;
    } else if (a !== null && typeof a === 'object') {
      fields = fieldsOf(a);
      if (msg === undefined && typeof (a as { msg?: unknown }).msg === 'string') msg = (a as { msg: string }).msg;
    }
    const now = Date.now();
    const time = shared.isoTime ? `"${new Date(now).toISOString()}"` : String(now);
    const tail = msg === undefined ? '' : `"msg":${JSON.stringify(String(msg))},`;
    const body = `${shared.base}${this.bindings}${fields}${tail}`;
    shared.destination.write(`{"level":${value},"time":${time}${body === '' ? '' : `,${body.slice(0, -1)}`}}\n`);
  }
}

/** A logger writing NDJSON lines to `destination`. */
export function createLogger(destination: LogDestination, options: LoggerOptions = {}): Logger {
  const base = `"pid":${process.pid},"hostname":${JSON.stringify(hostname())},`;
  return new NdjsonLogger({ value: levelValue(options.level ?? 'info'), destination, isoTime: options.isoTime === true, base }, '');
}

/** A logger that writes nothing (the agent's default). */
export function silentLogger(): Logger {
  return createLogger({ write: () => undefined }, { level: 'silent' });
}
