/** "Did you mean …?" for a mistyped name: the closest known names by edit distance. */

/**
 * Edit distance between a and b, case-insensitive, counting a swap of two neighbours as one edit
 * (optimal string alignment, so "bnid" is 1 from "bind").
 */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= s.length; i++) {
    const row = d[i] as number[];
    const up = d[i - 1] as number[];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let v = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) v = Math.min(v, ((d[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = v;
    }
  }
  return (d[s.length] as number[])[t.length] as number;
}

/**
 * The known names closest to `given` (at most a third of its length away, at least one edit, or
 * starting with it), nearest first; empty when nothing is close.
 */
export function suggest(given: string, known: Iterable<string>, most = 2): string[] {
  const max = Math.max(1, Math.floor(given.length / 3));
  const scored: [string, number][] = [];
  for (const k of known) {
    const d = editDistance(given, k);
    if (d <= max || (given.length >= 3 && k.toLowerCase().startsWith(given.toLowerCase()))) scored.push([k, d]);
  }
  return scored.sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : 1)).slice(0, most).map(([k]) => k);
}

/** " (did you mean --x?)" or "" when nothing is close; `show` formats a name. */
export function didYouMean(given: string, known: Iterable<string>, show: (name: string) => string = (n) => n): string {
  const s = suggest(given, known);
  return s.length === 0 ? '' : ` (did you mean ${s.map(show).join(' or ')}?)`;
}
