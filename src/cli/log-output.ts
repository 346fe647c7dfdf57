/**
 * Where `hearsay agent`'s log lines go: stderr at the configured level, as text for people (one
 * readable line per event, e.g. `... INFO  member-join web-2 10.0.0.7:7946 incarnation=3`) or as
 * JSON for machines, and to every `hearsay monitor` stream at that stream's own level. The
 * logger (src/log/logger.ts, pino's line format) runs at the lowest level anyone listens at, so a monitor asking for debug sees debug lines
 * while stderr keeps its level; the level can change at run time (SIGHUP, reload).
 */
import { createLogger, type LogDestination, type Logger } from '../log/logger.js';
import type { LogFormat, LogLevel } from '../agent/config.js';

const LEVELS: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };
const NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields every line has, shown in the text form's prefix or not at all. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'node', 'component', 'member', 'addr']);

export function isLogLevel(v: string): v is LogLevel {
  return Object.hasOwn(LEVELS, v);
}

/** One JSON log line (pino's format) as one readable line of text. */
export function formatLogLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.trimEnd();
  }
  const level = NAMES[rec.level as number] ?? String(rec.level);
  const parts: string[] = [typeof rec.time === 'string' ? rec.time : new Date(Number(rec.time)).toISOString(), level.padEnd(5), String(rec.msg ?? '')];
  // Membership events read as "member-join web-2 10.0.0.7:7946".
  if (rec.member !== undefined) parts.push(String(rec.member));
  if (rec.addr !== undefined) parts.push(String(rec.addr));
  for (const [k, v] of Object.entries(rec)) {
    if (HIDDEN.has(k) || v === undefined) continue;
    parts.push(`${k}=${show(k, v)}`);
  }
  return parts.join(' ');
}

function show(key: string, v: unknown): string {
  if (key === 'err' && typeof v === 'object' && v !== null) {
    // The message, on one line: a failed join lists each seed's reason, never a stack trace.
    const message = String((v as { message?: unknown }).message ?? '');
    return JSON.stringify(message.replace(/\n\s*-\s*/g, '; ').replace(/\n/g, ' '));
  }
  if (typeof v === 'string') return /^[\w.:/@[\]-]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

interface Monitor {
  readonly level: number;
  readonly json: boolean;
  readonly onLine: (line: string) => void;
}

export class LogOutput implements LogDestination {
  readonly logger: Logger;
  private level: number;
  private readonly monitors = new Set<Monitor>();

  constructor(
    private readonly out: { write(text: string): unknown },
    level: LogLevel,
    private readonly format: LogFormat,
  ) {
    this.level = LEVELS[level] as number;
    this.logger = createLogger(this, { level, isoTime: true });
  }

  /** The logger writes one JSON line per call. */
  write(line: string): void {
    const m = /"level":(\d+)/.exec(line);
    const level = m === null ? LEVELS.info! : Number(m[1]);
    if (level >= this.level) this.out.write(this.format === 'json' ? line : `${formatLogLine(line)}\n`);
    for (const mon of this.monitors) if (level >= mon.level) mon.onLine(mon.json ? line.trimEnd() : formatLogLine(line));
  }

  /** Changes the level stderr gets (reload). */
  setLevel(level: LogLevel): void {
    this.level = LEVELS[level] as number;
    this.retune();
  }

  /** Streams lines at `level` and above to `onLine` (text, or JSON with `json`); returns the stop function. */
  subscribe(level: LogLevel, json: boolean, onLine: (line: string) => void): () => void {
    const mon: Monitor = { level: LEVELS[level] as number, json, onLine };
    this.monitors.add(mon);
    this.retune();
    return () => {
      this.monitors.delete(mon);
      this.retune();
    };
  }

  /** The logger runs at the lowest level anyone listens at. */
  private retune(): void {
    let lowest = this.level;
    for (const m of this.monitors) lowest = Math.min(lowest, m.level);
    const name = Object.keys(LEVELS).find((k) => LEVELS[k] === lowest) ?? 'silent';
    if (this.logger.level !== name) this.logger.level = name;
  }
}
