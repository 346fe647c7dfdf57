/**
 * `hearsay members`: the members a running agent knows, from its HTTP API (GET /v1/members), as
 * a table (name, address, status, incarnation, tags) or, with --json, the API's JSON array.
 */
import { formatHostPort } from '../../transport/address.js';
import type { MemberInfo } from '../../agent/types.js';
import { clientCommand } from '../client-command.js';
import { table } from './service-format.js';

const flags = {
  json: { type: 'boolean', description: 'print the JSON array the API returns instead of a table' },
} as const;

const STATUS_ORDER: Readonly<Record<string, number>> = { alive: 0, suspect: 1, dead: 2, left: 3 };

/** The table `hearsay members` prints: alive first, then suspect, dead, left; by name within each. */
export function formatMembersTable(members: readonly MemberInfo[]): string {
  const sorted = [...members].sort((a, b) => (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const rows: string[][] = [['NAME', 'ADDRESS', 'STATUS', 'INCARNATION', 'TAGS']];
  for (const m of sorted) {
    const tags = Object.entries(m.tags)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    rows.push([m.name, formatHostPort({ host: m.addr, port: m.port }), m.status, String(m.incarnation), tags === '' ? '-' : tags]);
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
  async run(client) {
    const members = await client.call('GET', '/v1/members');
    if (!Array.isArray(members)) throw new Error(`${formatHostPort(client.address)} answered something other than a member list: is it a hearsay agent?`);
    return { json: members, text: formatMembersTable(members as MemberInfo[]) };
  },
});
