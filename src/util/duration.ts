/**
 * Durations as users write them: a number of milliseconds, or a string such as "500ms", "10s",
 * "1m30s" or "2h" (units ms, s, m, h; a bare number string is milliseconds).
 */
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;

/** Milliseconds, or undefined when `v` is not a duration. Results are rounded to whole ms. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (s === '') return undefined;
  if (/^\d+$/.test(s)) {
    const ms = Number(s);
    return Number.isFinite(ms) ? ms : undefined;
  }
  PART_RE.lastIndex = 0;
  let total = 0;
  let pos = 0;
  for (;;) {
    const m = PART_RE.exec(s);
    if (m === null) break;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = PART_RE.lastIndex;
  }
  if (pos !== s.length) return undefined;
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/** "1m30s", "500ms", "10s": the shortest form, for messages and listings. */
export function formatDuration(ms: number): string {
  if (ms < 1000 || ms % 1000 !== 0) return `${ms}ms`;
  let s = ms / 1000;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 ? `${s}s` : ''}`;
}
