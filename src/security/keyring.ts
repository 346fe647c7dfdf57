/**
 * The keyring: every installed AES-256 key may decrypt; exactly one, the primary, encrypts.
 * Rotation without downtime is install everywhere → use (make primary) everywhere → remove the old
 * key everywhere: at every step each node can still read what every other node sends.
 *
 * Keys are shown and exchanged as base64 of 32 bytes. A key's id in logs and errors is the first
 * 8 hex digits of its SHA-256, never the key itself.
 */
import type * as Crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import type * as FsPromises from 'node:fs/promises';
import { jsonErrorPosition } from '../util/json.js';
import { InvalidKeyError, KeyNotInstalledError, KeyringFileError, RemovePrimaryKeyError } from './errors.js';

/** node:fs/promises, loaded on first use: an agent without a keyring file never loads it (bench:light). */
const fsp = (): typeof FsPromises => process.getBuiltinModule('node:fs/promises');

/** node:crypto, loaded on first use: an agent that never needs it does not pay for it at start (bench:light). */
const crypto = (): typeof Crypto => process.getBuiltinModule('node:crypto');

/** AES-256: 32-byte keys. */
export const KEY_BYTES = 32;
/** Most keys a keyring holds (each one is tried on a packet no other key opens). */
export const MAX_KEYS = 16;

/** A new random key, base64. */
export function generateKey(): string {
  return crypto().randomBytes(KEY_BYTES).toString('base64');
}

/** Decodes a base64 key; throws InvalidKeyError naming `where` the key came from. */
export function parseKey(text: unknown, where = 'key'): Buffer {
  if (typeof text !== 'string' || text.trim() === '') throw new InvalidKeyError(where, 'the key is empty');
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) throw new InvalidKeyError(where, 'the key is not base64');
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) throw new InvalidKeyError(where, `the key decodes to ${key.length} bytes, not ${KEY_BYTES}`);
  return key;
}

/** A short, safe-to-log identifier of a key. */
/** The id of a base64 key as reports show it (never the key itself); "invalid" for a non-key. */
export function keyIdOfBase64(key: string): string {
  const bytes = Buffer.from(key, 'base64');
  return bytes.length === KEY_BYTES ? keyId(bytes) : 'invalid';
}

export function keyId(key: Uint8Array): string {
  return crypto().createHash('sha256').update(key).digest('hex').slice(0, 8);
}

export class Keyring {
  /** Primary first. */
  private list: Buffer[];
  private readonly listeners: (() => void)[] = [];

  /** `keys[0]` becomes the primary. Throws InvalidKeyError on an empty list. */
  constructor(keys: readonly Uint8Array[]) {
    if (keys.length === 0) throw new InvalidKeyError('keyring', 'no keys were given');
    const seen = new Set<string>();
    this.list = [];
    for (const k of keys) {
      if (k.length !== KEY_BYTES) throw new InvalidKeyError('keyring', `a key has ${k.length} bytes, not ${KEY_BYTES}`);
      const b = Buffer.from(k);
      const id = b.toString('base64');
      if (seen.has(id)) continue;
      seen.add(id);
      this.list.push(b);
    }
    if (this.list.length > MAX_KEYS) throw new InvalidKeyError('keyring', `${this.list.length} keys: a keyring holds at most ${MAX_KEYS}`);
  }

  /** From base64 strings, the primary first; `where` names their origin in errors. */
  static fromBase64(keys: readonly string[], where = 'key'): Keyring {
    return new Keyring(keys.map((k, i) => parseKey(k, keys.length === 1 ? where : `${where} #${i + 1}`)));
  }

  /** The key that encrypts. */
  get primary(): Buffer {
    return this.list[0] as Buffer;
  }

  /** Every installed key, the primary first (try order when decrypting). */
  get keys(): readonly Buffer[] {
    return this.list;
  }

  /** Base64 keys, the primary first. */
  toBase64(): string[] {
    return this.list.map((k) => k.toString('base64'));
  }

  has(key: Uint8Array): boolean {
    return this.indexOf(key) >= 0;
  }

  /** Called after every change (install, use, remove). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Installs `key` (it may then decrypt); true if it was new. */
  install(key: Uint8Array): boolean {
    if (this.has(key)) return false;
    if (this.list.length >= MAX_KEYS) {
      throw new InvalidKeyError('install', `the keyring already holds ${MAX_KEYS} keys: remove an old key first with \`hearsay keys remove KEY\``);
    }
    this.list.push(Buffer.from(key));
    this.changed();
    return true;
  }

  /** Makes an installed key the primary. Throws KeyNotInstalledError. */
  use(key: Uint8Array): void {
    const i = this.indexOf(key);
    if (i < 0) throw new KeyNotInstalledError(keyId(key));
    if (i === 0) return;
    const [k] = this.list.splice(i, 1);
    this.list.unshift(k as Buffer);
    this.changed();
  }

  /** Removes a key that is not the primary; true if it was installed. Throws RemovePrimaryKeyError. */
  remove(key: Uint8Array): boolean {
    const i = this.indexOf(key);
    if (i === 0) throw new RemovePrimaryKeyError(keyId(key));
    if (i < 0) return false;
    this.list.splice(i, 1);
    this.changed();
    return true;
  }

  private indexOf(key: Uint8Array): number {
    return this.list.findIndex((k) => k.length === key.length && k.equals(key));
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}

/** Reads a keyring file (a JSON array of base64 keys, primary first). Throws KeyringFileError. */
export function readKeyringFile(path: string): Keyring {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new KeyringFileError(path, `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, err);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // Not the parser's message: it quotes the text around the error, which is key material.
    throw new KeyringFileError(path, `is not valid JSON${jsonErrorPosition(err)}: it must be an array of base64 keys, primary first`);
  }
  if (!Array.isArray(doc) || doc.length === 0 || !doc.every((k) => typeof k === 'string')) {
    throw new KeyringFileError(path, 'is not a non-empty array of strings');
  }
  try {
    return Keyring.fromBase64(doc as string[], `keyring file ${path}`);
  } catch (err) {
    throw new KeyringFileError(path, (err as Error).message);
  }
}

/**
 * Writes the keyring to `path` atomically, readable by the owner only: a temp file with an
 * unpredictable name created exclusively (never through a symlink someone planted), flushed,
 * then renamed over `path`.
 */
export async function writeKeyringFile(path: string, keyring: Keyring): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${crypto().randomBytes(8).toString('hex')}`;
  const fh = await fsp().open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(keyring.toBase64(), null, 2)}\n`, 'utf8');
    await fh.chmod(0o600);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await fsp().rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await fsp().rename(tmp, path);
  } catch (err) {
    // The temp file holds the keys: never leave it behind.
    await fsp().rm(tmp, { force: true });
    throw err;
  }
}
