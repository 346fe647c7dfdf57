/** " at position N" from a JSON.parse error, without the text around it that the message quotes (a key, perhaps). */
export function jsonErrorPosition(err: unknown): string {
  const m = /position (\d+)/.exec((err as Error).message ?? '');
  return m === null ? '' : ` at position ${m[1]}`;
}
