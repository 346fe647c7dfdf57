/**
 * Key operations across the mesh, as `serf keys` does them: the agent asked (through the HTTP API
 * or `hearsay keys`) applies the operation to its own keyring, then sends it over the encrypted
 * TCP stream to every alive member and collects each one's answer. The report says how many nodes
 * were asked, how many answered, each failure by node name, and (for list) on how many nodes each
 * key is installed and primary.
 *
 *   list             every node's keys
 *   install KEY      add KEY to every keyring (it may then decrypt)
 *   use KEY          make KEY the primary (it then encrypts) everywhere; fails where not installed
 *   remove KEY       remove KEY everywhere; refused (before anything changes) when it is this
 *                    node's primary, and by every node where it is the primary
 *
 * A request is only accepted over an encrypted stream (secure-transport.ts), so only a holder of
 * an installed key can change keyrings: every key holder is trusted (SECURITY.md).
 */
import type { Logger } from '../log/logger.js';
import type { Address } from '../wire/messages.js';
import { EncryptionDisabledError, InvalidKeyError, KeyNotInstalledError, KeyOperationUnsafeError, RemovePrimaryKeyError } from './errors.js';
import { keyId, keyIdOfBase64, MAX_KEYS, parseKey, writeKeyringFile, type Keyring } from './keyring.js';
import type { ControlResult } from './secure-transport.js';

export type KeyOp = 'list' | 'install' | 'use' | 'remove';
export const KEY_OPS: readonly KeyOp[] = ['list', 'install', 'use', 'remove'];

/** What one key operation did across the mesh. */
export interface KeyOpReport {
  readonly op: KeyOp;
  /** Nodes asked, this one included. */
  readonly nodes: number;
  /** Nodes that answered (with success or an error). */
  readonly responded: number;
  /** Node name → why it failed (no answer, or its error). Empty when all succeeded. */
  readonly failures: Readonly<Record<string, string>>;
  /**
   * Key id (the first 8 hex digits of its SHA-256, as `hearsay keygen` prints it) → number of
   * nodes holding it. Ids, never keys: the report goes to the HTTP API and terminals.
   */
  readonly keys: Readonly<Record<string, number>>;
  /** Key id → number of nodes using it as primary. */
  readonly primaryKeys: Readonly<Record<string, number>>;
}

/** The alive members to fan out to (this node excluded). */
export type PeerLister = () => readonly { readonly name: string; readonly addr: Address }[];
export type ControlDialer = (to: Address, request: unknown) => Promise<ControlResult>;

interface NodeAnswer {
  readonly ok: boolean;
  readonly error?: string;
  readonly keys: readonly string[];
}

/** Fan-out width: key operations to this many members at once. */
const CONCURRENCY = 32;

export class KeyManager {
  private saving: Promise<void> = Promise.resolve();

  constructor(
    readonly keyring: Keyring | null,
    private readonly selfName: string,
    private readonly peers: PeerLister,
    private readonly dial: ControlDialer,
    private readonly options: { readonly keyringFile?: string; readonly writeNow?: boolean; readonly logger?: Logger } = {},
  ) {
    const file = options.keyringFile;
    if (keyring !== null && file !== undefined) {
      if (options.writeNow === true) {
        this.saving = writeKeyringFile(file, keyring).catch((err: unknown) =>
          options.logger?.error({ err, file }, 'could not create the keyring file: the keys hold until restart only'),
        );
      }
      keyring.onChange(() => {
        this.saving = this.saving
          .then(() => writeKeyringFile(file, keyring))
          .catch((err: unknown) => options.logger?.error({ err, file }, 'could not save the keyring file: the change holds until restart only'));
      });
    }
  }

  /** Resolves once every keyring change so far has been written to the keyring file. */
  flush(): Promise<void> {
    return this.saving;
  }

  /**
   * Runs `op` here and on every alive member. Throws (before anything changes) InvalidKeyError for
   * a bad key, EncryptionDisabledError without a keyring, RemovePrimaryKeyError for removing this
   * node's primary; failures elsewhere are in the report.
   */
  async run(op: KeyOp, key?: string): Promise<KeyOpReport> {
    if (this.keyring === null) throw new EncryptionDisabledError(`keys ${op}`);
    if (!KEY_OPS.includes(op)) throw new InvalidKeyError(`keys ${String(op)}`, 'unknown operation: use list, install, use or remove');
    let raw: Buffer | undefined;
    if (op !== 'list') raw = parseKey(key, `keys ${op}`);
    const request = op === 'list' ? { op } : { op, key: (raw as Buffer).toString('base64') };
    // A local refusal (removing our primary, using a key we lack, a full keyring) changes nothing
    // anywhere. This node applies the operation last: a new primary here would seal the requests
    // with a key others may lack, and a key removed here could no longer open a refusal sealed with it.
    if (raw !== undefined) this.precheck(this.keyring, op, raw);
    // `use` and `remove` change which key a node can read: first ask every member what it holds,
    // and refuse (changing nothing) if the change would leave some node unable to talk: a node
    // still using the key to remove as its primary, or lacking the key to use, or not answering.
    if ((op === 'use' || op === 'remove') && raw !== undefined) await this.checkMeshWide(op, raw);
    const answers = new Map<string, NodeAnswer | string>();
    const peers = [...this.peers()].filter((p) => p.name !== this.selfName);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < peers.length) {
        const p = peers[next++] as (typeof peers)[number];
        const r = await this.dial(p.addr, request);
        answers.set(p.name, r.ok ? (asAnswer(r.answer) ?? 'answered something that is not a key-operation answer') : `no answer: ${r.message}`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, peers.length) }, worker));
    answers.set(this.selfName, this.apply(request));
    const failures: Record<string, string> = {};
    const keys: Record<string, number> = {};
    const primaryKeys: Record<string, number> = {};
    let responded = 0;
    for (const [name, a] of answers) {
      if (typeof a === 'string') {
        failures[name] = a;
        continue;
      }
      responded++;
      if (!a.ok) failures[name] = a.error ?? 'failed';
      a.keys.forEach((b64, i) => {
        const k = keyIdOfBase64(b64);
        keys[k] = (keys[k] ?? 0) + 1;
        if (i === 0) primaryKeys[k] = (primaryKeys[k] ?? 0) + 1;
      });
    }
    this.options.logger?.info(
      { op, key: raw === undefined ? undefined : keyId(raw), nodes: answers.size, responded, failures: Object.keys(failures).length },
      'key operation',
    );
    return { op, nodes: answers.size, responded, failures, keys, primaryKeys };
  }

  private async checkMeshWide(op: 'use' | 'remove', raw: Buffer): Promise<void> {
    const id = keyId(raw);
    const b64 = raw.toString('base64');
    const problems: string[] = [];
    const peers = [...this.peers()].filter((p) => p.name !== this.selfName);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < peers.length) {
        const p = peers[next++] as (typeof peers)[number];
        const r = await this.dial(p.addr, { op: 'list' });
        const a = r.ok ? asAnswer(r.answer) : undefined;
        if (a === undefined) problems.push(`${p.name} did not answer (${r.ok ? 'not a key-operation answer' : r.message})`);
        else if (op === 'remove' && a.keys[0] === b64) problems.push(`${p.name} still uses ${id} as its primary key`);
        else if (op === 'use' && !a.keys.includes(b64)) problems.push(`${p.name} does not hold ${id}`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, peers.length) }, worker));
    if (problems.length === 0) return;
    problems.sort();
    const fix = op === 'remove' ? `run \`hearsay keys use\` with the new key until every node reports it as primary` : `run \`hearsay keys install\` with it until every node holds it`;
    throw new KeyOperationUnsafeError(
      `keys ${op} ${id} refused, nothing changed: it would leave ${problems.length === 1 ? 'a node' : `${problems.length} nodes`} unable to talk to the mesh (${problems.slice(0, 10).join('; ')}${problems.length > 10 ? '; ...' : ''}): ${fix}, or wait until unreachable nodes are back or declared dead`,
    );
  }

  /** Answers a key-operation request from another member (already authenticated by the envelope). */
  handleRemote(request: unknown): NodeAnswer {
    return this.apply(request);
  }

  private precheck(keyring: Keyring, op: KeyOp, key: Buffer): void {
    if (op === 'use' && !keyring.has(key)) throw new KeyNotInstalledError(keyId(key));
    if (op === 'remove' && keyring.primary.equals(key)) throw new RemovePrimaryKeyError(keyId(key));
    if (op === 'install' && !keyring.has(key) && keyring.keys.length >= MAX_KEYS) {
      throw new InvalidKeyError('keys install', `the keyring already holds ${MAX_KEYS} keys: remove an old key first with \`hearsay keys remove KEY\``);
    }
  }

  private apply(request: unknown): NodeAnswer {
    const keyring = this.keyring;
    if (keyring === null) return { ok: false, error: 'this node has no keyring', keys: [] };
    if (typeof request !== 'object' || request === null) return { ok: false, error: 'malformed request', keys: keyring.toBase64() };
    const { op, key } = request as { op?: unknown; key?: unknown };
    try {
      switch (op) {
        case 'list':
          break;
        case 'install':
          keyring.install(parseKey(key));
          break;
        case 'use':
          keyring.use(parseKey(key));
          break;
        case 'remove':
          keyring.remove(parseKey(key));
          break;
        default:
          return { ok: false, error: `unknown key operation ${JSON.stringify(op)}`, keys: keyring.toBase64() };
      }
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err), keys: keyring.toBase64() };
    }
    return { ok: true, keys: keyring.toBase64() };
  }
}

function asAnswer(v: unknown): NodeAnswer | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const { ok, error, keys } = v as { ok?: unknown; error?: unknown; keys?: unknown };
  if (typeof ok !== 'boolean' || !Array.isArray(keys) || keys.length > 64 || !keys.every((k) => typeof k === 'string' && k.length <= 64)) return undefined;
  return { ok, keys: keys as string[], ...(typeof error === 'string' ? { error: error.slice(0, 1000) } : {}) };
}
