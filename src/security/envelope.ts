/**
 * The envelope around every UDP datagram and every TCP frame: an optional cluster label and,
 * with a keyring, AES-256-GCM.
 *
 *   [0xF4, n, label (n bytes)]?  then either
 *   [0xE1, nonce (12 bytes), ciphertext, tag (16 bytes)]      encrypted
 *   the plaintext packet (wire/codec.ts: version byte 1, ...)  plaintext
 *
 * - The nonce is 12 fresh random bytes per message (node:crypto randomBytes); the associated data
 *   is the 0xE1 byte and the label, so a packet cannot be moved to a mesh with another label nor
 *   have its label stripped.
 * - The label is checked on plaintext too: two meshes with different labels (or one with and one
 *   without) that share a port drop each other's packets, encrypted or not.
 * - Decryption tries the primary key first, then every other installed key.
 * - `open` never throws: a packet that fails is dropped with one of AUTH_DROP_REASONS.
 */
import type * as Crypto from 'node:crypto';
import type { Keyring } from './keyring.js';

/** node:crypto, loaded with the first key: an agent without one never loads it (bench:light). */
let loaded: typeof Crypto | undefined;
const crypto = (): typeof Crypto => (loaded ??= process.getBuiltinModule('node:crypto'));

export const LABEL_HEADER = 0xf4;
export const ENCRYPTED_V1 = 0xe1;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** Bytes encryption adds to every message (type byte, nonce, tag). */
export const ENCRYPTION_OVERHEAD_BYTES = 1 + NONCE_BYTES + TAG_BYTES;
export const MAX_LABEL_BYTES = 255;

/** Why `open` refused a packet (each is a `security.dropped.<reason>` counter). */
export const AUTH_DROP_REASONS = [
  /** The packet carries another cluster label than ours, or none where we have one (or one where we have none). */
  'label-mismatch',
  /** A label header cut short or of length 0. */
  'label-malformed',
  /** Plaintext while encryption is required (no transition mode). */
  'unencrypted',
  /** Encrypted, but no installed key authenticates it (wrong key, forged or corrupted). */
  'decrypt-failed',
  /** Encrypted, but shorter than a nonce and a tag. */
  'truncated',
  /** Encrypted, but this node has no keyring. */
  'no-key',
] as const;
export type AuthDropReason = (typeof AUTH_DROP_REASONS)[number];

/**
 * Rolling encryption out over a running plaintext mesh takes two restarts of every node:
 * 1. `send-plaintext`: keys installed, still sends plaintext, accepts both;
 * 2. `accept-plaintext`: sends encrypted, still accepts plaintext;
 * 3. `off`: encrypted only. At every step every node reads what every other sends.
 */
export type TransitionMode = 'off' | 'send-plaintext' | 'accept-plaintext';
export const TRANSITION_MODES: readonly TransitionMode[] = ['off', 'send-plaintext', 'accept-plaintext'];

export interface EnvelopeOptions {
  /** null: no encryption (plaintext in and out; an encrypted packet is dropped as 'no-key'). */
  readonly keyring: Keyring | null;
  /** The cluster label ('' for none); at most 255 UTF-8 bytes. */
  readonly label: string;
  /** @default 'off' */
  readonly transition?: TransitionMode;
}

export type OpenResult =
  | { readonly ok: true; readonly payload: Buffer; readonly encrypted: boolean }
  | { readonly ok: false; readonly reason: AuthDropReason };

export class Envelope {
  readonly keyring: Keyring | null;
  readonly label: string;
  readonly transition: TransitionMode;
  private readonly labelHeader: Buffer;
  private readonly labelBytes: Buffer;
  private readonly aad: Buffer;

  constructor(options: EnvelopeOptions) {
    this.keyring = options.keyring;
    this.label = options.label;
    this.transition = options.transition ?? 'off';
    this.labelBytes = Buffer.from(options.label, 'utf8');
    if (this.labelBytes.length > MAX_LABEL_BYTES) throw new RangeError(`the cluster label is ${this.labelBytes.length} bytes; at most ${MAX_LABEL_BYTES}`);
    this.labelHeader = this.labelBytes.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([LABEL_HEADER, this.labelBytes.length]), this.labelBytes]);
    this.aad = Buffer.concat([Buffer.from([ENCRYPTED_V1]), this.labelBytes]);
  }

  /** Whether outgoing messages are encrypted. */
  get encrypts(): boolean {
    return this.keyring !== null && this.transition !== 'send-plaintext';
  }

  /** Whether plaintext is accepted. */
  get acceptsPlaintext(): boolean {
    return this.keyring === null || this.transition !== 'off';
  }

  /** Bytes `seal` adds to a message. */
  get overheadBytes(): number {
    return this.labelHeader.length + (this.encrypts ? ENCRYPTION_OVERHEAD_BYTES : 0);
  }

  /** Wraps one message; `forceEncrypt` encrypts even in send-plaintext mode (key operations). */
  seal(payload: Uint8Array, forceEncrypt = false): Buffer {
    const keyring = this.keyring;
    if (keyring === null || (!this.encrypts && !forceEncrypt)) {
      return this.labelHeader.length === 0 ? Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength) : Buffer.concat([this.labelHeader, payload]);
    }
    const c = crypto();
    const nonce = c.randomBytes(NONCE_BYTES);
    const cipher = c.createCipheriv('aes-256-gcm', keyring.primary, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(this.aad);
    const body = cipher.update(payload);
    cipher.final();
    return Buffer.concat([this.labelHeader, Buffer.from([ENCRYPTED_V1]), nonce, body, cipher.getAuthTag()]);
  }

  /** Unwraps one message, or says why it is refused. Never throws. */
  open(packet: Uint8Array): OpenResult {
    let rest = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
    if (rest.length > 0 && rest[0] === LABEL_HEADER) {
      if (rest.length < 2) return { ok: false, reason: 'label-malformed' };
      const n = rest[1] as number;
      if (n === 0 || rest.length < 2 + n) return { ok: false, reason: 'label-malformed' };
      if (n !== this.labelBytes.length || !rest.subarray(2, 2 + n).equals(this.labelBytes)) return { ok: false, reason: 'label-mismatch' };
      rest = rest.subarray(2 + n);
    } else if (this.labelBytes.length > 0) {
      return { ok: false, reason: 'label-mismatch' };
    }
    if (rest.length > 0 && rest[0] === ENCRYPTED_V1) {
      const keyring = this.keyring;
      if (keyring === null) return { ok: false, reason: 'no-key' };
      if (rest.length < ENCRYPTION_OVERHEAD_BYTES) return { ok: false, reason: 'truncated' };
      const nonce = rest.subarray(1, 1 + NONCE_BYTES);
      const body = rest.subarray(1 + NONCE_BYTES, rest.length - TAG_BYTES);
      const tag = rest.subarray(rest.length - TAG_BYTES);
      for (const key of keyring.keys) {
        const plain = tryDecrypt(key, nonce, body, tag, this.aad);
        if (plain !== null) return { ok: true, payload: plain, encrypted: true };
      }
      return { ok: false, reason: 'decrypt-failed' };
    }
    if (!this.acceptsPlaintext) return { ok: false, reason: 'unencrypted' };
    return { ok: true, payload: rest, encrypted: false };
  }
}

function tryDecrypt(key: Buffer, nonce: Buffer, body: Buffer, tag: Buffer, aad: Buffer): Buffer | null {
  try {
    const decipher = crypto().createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const out = decipher.update(body);
    decipher.final();
    return out;
  } catch {
    return null;
  }
}
