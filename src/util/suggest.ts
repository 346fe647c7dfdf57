/** "Did you mean …?" for a mistyped name: the closest known names by edit distance. */

/** Levenshtein distance between a and b (case-insensitive), stopping early beyond `max`. */
export function editDistance(a: string, b: string, max = Infinity): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  if (Math.abs(s.length - t.length) > max) return max + 1;
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= t.length; j++) {
      const v = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (s[i - 1] === t[j - 1] ? 0 : 1));
      cur.push(v);
      if (v < best) best = v;
    }
    if (best > max) return max + 1;
    prev = cur;
  }
  return prev[t.length] as number;
}

/**
 * The known names closest to `given` (at most a third of its length away, and at least 1 edit
 * allowed for short names), nearest first; empty when nothing is close.
 */
export function suggest(given: string, known: Iterable<string>, most = 2): string[] {
  const max = Math.max(1, Math.floor(given.length / 3));
  const scored: [string, number][] = [];
  for (const k of known) {
    const d = editDistance(given, k, max);
    if (d <= max || (given.length >= 3 && k.toLowerCase().startsWith(given.toLowerCase()))) scored.push([k, Math.min(d, max)]);
  }
  return scored.sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : 1)).slice(0, most).map(([k]) => k);
}

/** " (did you mean --x?)" or "" when nothing is close; `show` formats a name. */
export function didYouMean(given: string, known: Iterable<string>, show: (name: string) => string = (n) => n): string {
  const s = suggest(given, known);
  return s.length === 0 ? '' : ` (did you mean ${s.map(show).join(' or ')}?)`;
}
