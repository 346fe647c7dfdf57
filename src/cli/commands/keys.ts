/**
 * `hearsay keys list|install|use|remove [KEY]`: key operations across the whole mesh, through a
 * running agent's HTTP API (GET /v1/keys, POST /v1/keys/{install,use,remove}). The agent applies
 * the operation to every alive member and reports how many nodes answered and each failure.
 *
 * Rotation without downtime:  keys install NEW  →  keys use NEW  →  keys remove OLD.
 */
import type { KeyOpReport } from '../../security/key-manager.js';
import { clientCommand } from '../client-command.js';
import { UsageError } from '../command.js';

const flags = {
  json: { type: 'boolean', description: 'print the JSON report the API returns' },
} as const;

const OPS = ['list', 'install', 'use', 'remove'] as const;
const TIMEOUT_MS = 120_000;

/** The human report: nodes answered, failures, and each key with how many nodes hold it / use it. */
export function formatKeyReport(r: KeyOpReport): string {
  const lines: string[] = [];
  const failed = Object.entries(r.failures);
  lines.push(`${r.op}: ${r.responded} of ${r.nodes} node${r.nodes === 1 ? '' : 's'} answered, ${failed.length} failed`);
  for (const [node, why] of failed) lines.push(`  failed on ${node}: ${why}`);
  if (r.op === 'list' || Object.keys(r.keys).length > 0) {
    lines.push('keys (nodes holding / using as primary):');
    for (const [k, n] of Object.entries(r.keys).sort((a, b) => b[1] - a[1])) lines.push(`  ${k}  ${n}/${r.responded}  primary on ${r.primaryKeys[k] ?? 0}`);
  }
  return `${lines.join('\n')}\n`;
}

export const command = clientCommand({
  name: 'keys',
  summary: 'list, install, use (make primary) or remove encryption keys on every member of the mesh',
  details: [
    'Rotation without downtime: `hearsay keys install NEW`, then `hearsay keys use NEW`, then `hearsay keys remove OLD`.',
    'Removing the primary key is refused. Exit code 1 when any node failed or did not answer (the report says which).',
    'An agent started with --http-token needs HEARSAY_HTTP_TOKEN set for this command.',
  ].join('\n'),
  flags,
  args: {
    placeholder: 'list|install|use|remove [KEY]',
    description: 'the operation, and for install/use/remove the base64 key (from `hearsay keygen`)',
    min: 1,
  },
  async run(client, _values, args) {
    const [op, key, ...extra] = args;
    if (!(OPS as readonly string[]).includes(op ?? '')) throw new UsageError(`unknown keys operation "${op ?? ''}": use list, install KEY, use KEY or remove KEY`);
    if (op === 'list' ? key !== undefined : key === undefined || extra.length > 0) {
      throw new UsageError(op === 'list' ? "'hearsay keys list' takes no key" : `'hearsay keys ${op}' takes exactly one KEY (base64, from \`hearsay keygen\`)`);
    }
    const report = (await (op === 'list'
      ? client.call('GET', '/v1/keys', { timeoutMs: TIMEOUT_MS })
      : client.call('POST', `/v1/keys/${op}`, { body: { key }, timeoutMs: TIMEOUT_MS }))) as KeyOpReport;
    return { json: report, text: formatKeyReport(report), exitCode: Object.keys(report.failures ?? {}).length === 0 ? 0 : 1 };
  },
});
