/**
 * `hearsay members`: the members a running agent knows, from its HTTP API (GET /v1/members), as
 * a table (name, address, status, incarnation, tags) or, with --json, the API's JSON array;
 * --detailed adds since when each has its status, --status and --tag filter (as Serf's).
 */
import { formatHostPort } from '../../transport/address.js';
import type { MemberInfo } from '../../agent/types.js';
import { clientCommand } from '../client-command.js';
import { UsageError } from '../command.js';
import { table } from './service-format.js';

const flags = {
  json: { type: 'boolean', description: 'print the JSON array the API returns instead of a table' },
  detailed: { type: 'boolean', description: 'also members reaped soon (dead, left) and since when each has its status' },
  status: { type: 'string', placeholder: 'STATUS', description: 'only members with this status: alive, suspect, dead, left, or a comma list' },
  tag: { type: 'string', repeatable: true, placeholder: 'KEY=VALUE', description: 'only members whose tag KEY matches VALUE (a regular expression, anchored, as Serf)' },
} as const;

const STATUSES = ['alive', 'suspect', 'dead', 'left'];

/** The filter --status and --tag describe; throws UsageError for a bad one. */
export function memberFilter(status: string | undefined, tags: readonly string[]): (m: MemberInfo) => boolean {
  const wanted = status === undefined ? undefined : status.split(',').map((x) => x.trim());
  const bad = wanted?.filter((x) => !STATUSES.includes(x)) ?? [];
  if (bad.length > 0) throw new UsageError(`--status "${status}": ${bad.join(', ')} is not a status; use ${STATUSES.join(', ')} or a comma list`);
  const matchers = tags.map((kv) => {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--tag "${kv}" must be KEY=VALUE, e.g. --tag role=web`);
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${kv.slice(eq + 1)})$`);
    } catch (err) {
      throw new UsageError(`--tag "${kv}": the value is not a regular expression (${(err as Error).message})`);
    }
    return [kv.slice(0, eq), re] as const;
  });
  return (m) => (wanted === undefined || wanted.includes(m.status)) && matchers.every(([k, re]) => Object.hasOwn(m.tags, k) && re.test(m.tags[k] as string));
}

const STATUS_ORDER: Readonly<Record<string, number>> = { alive: 0, suspect: 1, dead: 2, left: 3 };

/** The table `hearsay members` prints: alive first, then suspect, dead, left; by name within each. */
export function formatMembersTable(members: readonly (MemberInfo & { statusSince?: string })[], detailed = false): string {
  const sorted = [...members].sort((a, b) => (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const rows: string[][] = [detailed ? ['NAME', 'ADDRESS', 'STATUS', 'SINCE', 'INCARNATION', 'TAGS'] : ['NAME', 'ADDRESS', 'STATUS', 'INCARNATION', 'TAGS']];
  for (const m of sorted) {
    const tags = Object.entries(m.tags)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const since = detailed ? [m.statusSince ?? '-'] : [];
    rows.push([m.name, formatHostPort({ host: m.addr, port: m.port }), m.status, ...since, String(m.incarnation), tags === '' ? '-' : tags]);
  }
  const lines = [table(rows)];
  const counts = new Map<string, number>();
  for (const m of members) counts.set(m.status, (counts.get(m.status) ?? 0) + 1);
  const summary = ['alive', 'suspect', 'dead', 'left']
    .filter((s) => (counts.get(s) ?? 0) > 0)
    .map((s) => `${counts.get(s)} ${s}`)
    .join(', ');
  lines.push('', `${members.length} member${members.length === 1 ? '' : 's'}${summary === '' ? '' : `: ${summary}`}`);
  return `${lines.join('\n')}\n`;
}

export const command = clientCommand({
  name: 'members',
  summary: "list the members a running agent knows, with their status (asks the agent's HTTP API)",
  details: 'Exit code 1 if no agent answers at the --http address.',
  flags,
  async run(client, values) {
    const keep = memberFilter(values.status, values.tag);
    const members = await client.call('GET', values.detailed ? '/v1/members?detailed' : '/v1/members');
    if (!Array.isArray(members)) throw new Error(`${formatHostPort(client.address)} answered something other than a member list: is it a hearsay agent?`);
    const shown = (members as MemberInfo[]).filter(keep);
    return { json: shown, text: formatMembersTable(shown, values.detailed) };
  },
});
