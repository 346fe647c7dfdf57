/** Tables the commands print, and the instance filter flags of lookup and watch. */
import { formatHostPort } from '../../transport/address.js';
import type { ServiceInstance, ServiceSummary } from '../../registry/types.js';

/**
 * Text as it may reach a terminal: control characters (ESC, BEL, newlines, C1) escaped, since a
 * name a peer chose could otherwise move the cursor, clear the screen or forge lines.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Columns padded to their widest cell (the last column is not padded); every cell printable. */
export function table(rawRows: string[][]): string {
  const rows = rawRows.map((r) => r.map(printable));
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 0))).join('  ')).join('\n');
}

/** --tag and --status, as `hearsay lookup` and `hearsay watch` take them. */
export const FILTER_FLAGS = {
  tag: { type: 'string', repeatable: true, placeholder: 'TAG', description: 'only instances with this tag (repeat: all of them)' },
  status: { type: 'string', placeholder: 'STATUS', description: 'passing (default), warning, critical, maintenance, any, or a comma list' },
} as const;

export function formatInstancesTable(instances: readonly ServiceInstance[]): string {
  const rows = [['ID', 'NODE', 'ADDRESS', 'STATUS', 'TAGS']];
  for (const i of instances) rows.push([i.id, i.node, formatHostPort({ host: i.address, port: i.port }), i.status, i.tags.length === 0 ? '-' : i.tags.join(',')]);
  return `${table(rows)}\n\n${instances.length} instance${instances.length === 1 ? '' : 's'}\n`;
}

export function formatServicesTable(services: readonly ServiceSummary[]): string {
  const rows = [['NAME', 'INSTANCES', 'PASSING']];
  for (const s of services) rows.push([s.name, String(s.instances), String(s.passing)]);
  return `${table(rows)}\n\n${services.length} service${services.length === 1 ? '' : 's'}\n`;
}

/** One line per change, as `hearsay watch` prints it: "+ added", "- removed", "~ updated". */
export function formatChange(sign: '+' | '-' | '~', i: ServiceInstance): string {
  return printable(`${sign} ${i.id} ${i.node} ${formatHostPort({ host: i.address, port: i.port })} ${i.status}${i.tags.length === 0 ? '' : ` [${i.tags.join(',')}]`}`);
}

/** The query string of a lookup. */
export function lookupQuery(tags: readonly string[], status: string | undefined, extra: Readonly<Record<string, string>> = {}): string {
  const q = new URLSearchParams();
  for (const t of tags) q.append('tag', t);
  if (status !== undefined) q.set('status', status);
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  const text = q.toString();
  return text === '' ? '' : `?${text}`;
}
