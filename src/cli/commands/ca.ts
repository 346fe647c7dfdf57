/**
 * `hearsay ca init|issue|revoke|inspect`: the offline certificate authority (identity/ca.ts).
 *
 *   hearsay ca init [--dir DIR] --trust-domain TD [--ttl 3650d]
 *   hearsay ca issue [--dir DIR] --node NAME [--services LIST] [--ttl 30d] [--out DIR]
 *   hearsay ca revoke [--dir DIR] (FILE | --serial HEX | --fingerprint FP) [--reason TEXT] [--push [--http ADDR]]
 *   hearsay ca push [--dir DIR | FILE] [--http ADDR]     the list to a running agent, whence it spreads
 *   hearsay ca inspect FILE [--ca FILE]
 *
 * Loaded on demand (cli/main.ts) like every command: nothing of identity/ is imported by the others.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HearsayError } from '../../errors.js';
import type { RevocationAdoption } from '../../agent/revocations.js';
import { callAgent, httpFlag, reportClientError, resolveHttpAddress } from '../http-client.js';
import { CA_FILES, DEFAULT_CA_DIR, DEFAULT_CA_TTL, DEFAULT_NODE_TTL, initCa, inspectFile, issueCertificate, revokeCertificate, type Inspection, type RevokeTarget } from '../../identity/ca.js';
import { UsageError, type Command, type FlagValues } from '../command.js';

const flags = {
  dir: { type: 'string', placeholder: 'DIR', default: DEFAULT_CA_DIR, description: `the CA's directory (${CA_FILES.key}, ${CA_FILES.cert}, ${CA_FILES.revocations})` },
  'trust-domain': { type: 'string', placeholder: 'DOMAIN', description: 'init: the trust domain every certificate names (spiffe://DOMAIN/...), e.g. prod.example' },
  ttl: { type: 'string', placeholder: 'DURATION', description: `init, issue: the lifetime, e.g. 7d, 12h (default ${DEFAULT_CA_TTL} for the CA, ${DEFAULT_NODE_TTL} for a node)` },
  node: { type: 'string', placeholder: 'NAME', description: "issue: the node's name (its agent's --name)" },
  services: { type: 'string', placeholder: 'LIST', description: 'issue: comma-separated service names or patterns the node may register, e.g. billing,api-*' },
  out: { type: 'string', placeholder: 'DIR', default: '.', description: 'issue: where NAME.crt and NAME.key are written' },
  serial: { type: 'string', placeholder: 'HEX', description: 'revoke: the serial number of the certificate to revoke' },
  fingerprint: { type: 'string', placeholder: 'SHA256', description: 'revoke: the SHA-256 fingerprint of the certificate to revoke' },
  reason: { type: 'string', placeholder: 'TEXT', description: 'revoke: why (kept in the list)' },
  ca: { type: 'string', placeholder: 'FILE', description: 'inspect: verify a revocation list against this CA certificate' },
  push: { type: 'boolean', description: 'revoke: then put the new list into the running agent at --http, which spreads it to every node' },
  http: httpFlag,
  json: { type: 'boolean', description: 'print the result as JSON' },
} as const;

type CaFlags = FlagValues<typeof flags>;

const OPS = ['init', 'issue', 'revoke', 'push', 'inspect'] as const;
type Op = (typeof OPS)[number];

/** Which flags each operation takes (besides --json and --dir's default). */
const TAKES: Readonly<Record<Op, readonly (keyof CaFlags)[]>> = {
  init: ['dir', 'trust-domain', 'ttl'],
  issue: ['dir', 'node', 'services', 'ttl', 'out'],
  revoke: ['dir', 'serial', 'fingerprint', 'reason', 'push', 'http'],
  push: ['dir', 'http'],
  inspect: ['ca'],
};

function refuseOthers(op: Op, values: CaFlags): void {
  for (const name of Object.keys(flags) as (keyof CaFlags)[]) {
    if (name === 'json' || TAKES[op].includes(name)) continue;
    const v = values[name];
    if (v === undefined || v === false || v === flags[name as 'dir'].default) continue;
    throw new UsageError(`'hearsay ca ${op}' does not take --${name} (it takes ${TAKES[op].map((f) => `--${f}`).join(', ') || 'no flags'})`);
  }
}

function inspectionText(i: Inspection): string {
  if (i.kind === 'private-key') return `private key (${i.keyType})\n  public key  ${i.publicKey}\n`;
  if (i.kind === 'revocations') {
    const lines = [
      `revocation list version ${i.version}, issued ${i.issuedAt} by ${i.issuer}`,
      `  signature   ${i.verified === true ? 'verified with the CA' : i.verified === false ? 'DOES NOT VERIFY with the CA given' : 'not checked (give --ca FILE)'}`,
      `  revoked     ${i.revoked.length}`,
      ...i.revoked.map((e) => `    ${e.serial ?? '-'}  ${e.fingerprint ?? '-'}  ${e.revokedAt}${e.reason === undefined ? '' : `  ${e.reason}`}`),
    ];
    return `${lines.join('\n')}\n`;
  }
  const lines = [
    `certificate${i.ca ? ' (CA)' : ''}: ${i.subject}`,
    `  issuer        ${i.issuer}`,
    `  serial        ${i.serial}`,
    `  fingerprint   ${i.fingerprint}`,
    `  key           ${i.keyType}`,
    `  valid         ${i.notBefore} to ${i.notAfter}${i.expired ? ' (EXPIRED)' : ''}`,
    ...(i.trustDomain === undefined ? [] : [`  trust domain  ${i.trustDomain}`]),
    ...(i.node === undefined ? [] : [`  node          ${i.node}`]),
    ...(i.ca ? [] : [`  services      ${i.services.length === 0 ? '(none)' : i.services.join(', ')}`]),
    ...i.uris.map((u) => `  uri           ${u}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** An agent's API refused the list, or could not be reached: reported as the client commands do. */
class PushError extends Error {
  constructor(readonly failure: unknown) {
    super('push failed');
  }
}

/** PUT /v1/identity/revocations with the list in `file`; the agent then spreads it. */
async function pushList(file: string, http: string | undefined): Promise<{ json: RevocationAdoption; text: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}): give the revocations.json \`hearsay ca revoke\` wrote`);
  }
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    throw new UsageError(`${file} is not JSON: give the revocations.json \`hearsay ca revoke\` wrote`);
  }
  const address = resolveHttpAddress(http);
  let r: RevocationAdoption;
  try {
    r = (await callAgent(address, 'PUT', '/v1/identity/revocations', { body: list })) as RevocationAdoption;
  } catch (err) {
    throw new PushError(err);
  }
  return {
    json: r,
    text:
      `pushed revocation list version ${r.version} (was ${r.previous}) to the agent at ${address.host}:${address.port}: it spreads to every node now` +
      `${r.removed.length === 0 ? '' : `; removed from its view: ${r.removed.join(', ')}`}${r.self ? "; that agent's own certificate is revoked" : ''}\n`,
  };
}

async function runOp(op: Op, values: CaFlags, rest: readonly string[]): Promise<{ json: unknown; text: string }> {
  if (op === 'init') {
    if (rest.length > 0) throw new UsageError("'hearsay ca init' takes no file");
    const td = values['trust-domain'];
    if (td === undefined) throw new UsageError("'hearsay ca init' needs --trust-domain DOMAIN, e.g. --trust-domain prod.example (certificates then name spiffe://prod.example/node/NAME)");
    const r = await initCa({ dir: values.dir, trustDomain: td, ttl: values.ttl ?? DEFAULT_CA_TTL });
    return {
      json: r,
      text: `made a CA for spiffe://${r.trustDomain} in ${r.dir}: ${r.key} (keep it offline, mode 0600) and ${r.cert} (give it to every agent as --ca), valid until ${r.notAfter}\n`,
    };
  }
  if (op === 'issue') {
    if (rest.length > 0) throw new UsageError("'hearsay ca issue' takes no file");
    if (values.node === undefined) throw new UsageError("'hearsay ca issue' needs --node NAME (the agent's --name)");
    const services = (values.services ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
    const r = await issueCertificate({ dir: values.dir, node: values.node, services, ttl: values.ttl ?? DEFAULT_NODE_TTL, out: values.out });
    return {
      json: r,
      text:
        `issued a certificate for ${r.node} (services: ${r.services.length === 0 ? 'none' : r.services.join(', ')}; serial ${r.serial}) valid until ${r.notAfter}:\n` +
        `  ${r.cert}\n  ${r.key} (mode 0600)\n` +
        `start the agent with --name ${r.node} --ca ${values.dir}/${CA_FILES.cert} --cert ${r.cert} --cert-key ${r.key}\n`,
    };
  }
  if (op === 'revoke') {
    const given = [rest.length > 0, values.serial !== undefined, values.fingerprint !== undefined].filter(Boolean).length;
    if (given !== 1 || rest.length > 1) throw new UsageError("'hearsay ca revoke' takes exactly one of: a certificate FILE, --serial HEX or --fingerprint SHA256");
    const target: RevokeTarget = rest[0] !== undefined ? { file: rest[0] } : values.serial !== undefined ? { serial: values.serial } : { fingerprint: values.fingerprint as string };
    if (values.push !== true && values.http !== undefined) throw new UsageError("'hearsay ca revoke' takes --http only with --push");
    const r = await revokeCertificate({ dir: values.dir, target, ...(values.reason === undefined ? {} : { reason: values.reason }) });
    const revoked = `revoked ${r.entry.serial === undefined ? '' : `serial ${r.entry.serial} `}${r.entry.fingerprint === undefined ? '' : `fingerprint ${r.entry.fingerprint}`}: ${r.file} is now version ${r.version} (${r.revoked} revoked)`;
    if (values.push !== true) {
      return { json: r, text: `${revoked}; push it to one agent (\`hearsay ca push\`), which spreads it to every node, or copy it to every agent's --revocations file\n` };
    }
    const pushed = await pushList(r.file, values.http);
    return { json: { ...r, pushed: pushed.json }, text: `${revoked}\n${pushed.text}` };
  }
  if (op === 'push') {
    if (rest.length > 1) throw new UsageError("'hearsay ca push' takes at most one FILE (default: DIR/revocations.json)");
    return pushList(rest[0] ?? join(values.dir, CA_FILES.revocations), values.http);
  }
  if (rest.length !== 1) throw new UsageError("'hearsay ca inspect' takes one FILE: a certificate, a private key or a revocation list");
  const i = await inspectFile(rest[0] as string, values.ca);
  return { json: i, text: inspectionText(i) };
}

export const command: Command<typeof flags> = {
  name: 'ca',
  summary: 'an offline certificate authority for node identities: init, issue, revoke, push, inspect',
  details: [
    'Node certificates are X.509 with Ed25519 keys; the node and the services it may register are',
    'subjectAltName URIs spiffe://TRUST-DOMAIN/node/NAME and spiffe://TRUST-DOMAIN/service/PATTERN.',
    'Agents take them as --ca ca.crt --cert NAME.crt --cert-key NAME.key (and --revocations FILE).',
    'Certificates made with plain openssl are accepted the same way: see the README (Identity).',
    'A revocation list spreads through the mesh from any one agent: `hearsay ca revoke ... --push`, or',
    '`hearsay ca push [FILE]` (PUT /v1/identity/revocations; --http ADDR, HEARSAY_HTTP_TOKEN for a token).',
  ].join('\n'),
  flags,
  args: { placeholder: 'init|issue|revoke|push|inspect [FILE]', description: 'the operation; revoke, push and inspect take a file', min: 1, max: 2 },
  async run(values, io, args) {
    const [op, ...rest] = args;
    if (!(OPS as readonly string[]).includes(op ?? '')) throw new UsageError(`unknown ca operation "${op ?? ''}": use init, issue, revoke, push or inspect`);
    refuseOthers(op as Op, values);
    try {
      const { json, text } = await runOp(op as Op, values, rest);
      io.stdout.write(values.json ? `${JSON.stringify(json, null, 2)}\n` : text);
      return 0;
    } catch (err) {
      if (err instanceof PushError) return reportClientError(`ca ${op as string}`, err.failure, io);
      if (err instanceof HearsayError) {
        io.stderr.write(`hearsay ca ${op as string}: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
  },
};
