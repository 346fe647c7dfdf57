/**
 * The transport under an envelope (envelope.ts): every datagram and stream frame this node sends
 * is sealed, every one it receives is opened before the membership sees it. A packet that fails
 * (wrong key, wrong label, plaintext where encryption is required, oversized datagram) is dropped
 * and counted as `security.dropped.<reason>`; it never reaches the core and is never thrown.
 *
 * It also carries key operations (key-manager.ts): a stream frame whose opened payload starts with
 * CONTROL_TYPE is a JSON request for this node's keyring, answered on the same connection. A
 * control frame is only accepted encrypted (a node without a key can never change the keyring),
 * and is always sent encrypted, even in the send-plaintext transition step.
 *
 * A stream frame starting with REVOCATIONS_TYPE asks for (or answers with) the CA-signed revocation
 * list this node holds (identity/revocation-spread.ts). The CA's signature is that list's
 * authority, not the envelope, so it travels as the membership's own frames do: sealed in a keyed
 * mesh, plaintext in an open one (the envelope's transition rules apply as to any frame).
 */
import type { Address } from '../wire/messages.js';
import { Transport, type DialResult, type TransportHandlers, type TransportOptions } from '../transport/transport.js';
import { AUTH_DROP_REASONS, type AuthDropReason, type Envelope } from './envelope.js';

/** First byte of a key-operation payload (the membership's packets start with version byte 1). */
export const CONTROL_TYPE = 0xc1;
/** First byte of a revocation-list request or answer (revocation-spread.ts). */
export const REVOCATIONS_TYPE = 0xc2;
/** Largest revocation-list request, in bytes (an answer is bounded by MAX_REVOCATIONS_BYTES). */
const MAX_REVOCATIONS_REQUEST_BYTES = 1024;

/** Largest key-operation request or answer, in bytes. */
export const MAX_CONTROL_BYTES = 64 * 1024;

export interface SecureTransportOptions extends TransportOptions {
  readonly envelope: Envelope;
  /** Largest datagram accepted (after the envelope is removed it is smaller); larger ones are dropped. */
  readonly maxDatagramBytes: number;
}

/** Answers one key-operation request; `reply` sends the answer back on the same connection. */
export type ControlHandler = (from: Address, request: unknown, reply: (answer: unknown) => void) => void;

/** Answers one revocation-list request with the answer's bytes (after the type byte). */
export type RevocationsHandler = (from: Address, request: unknown, reply: (answer: Uint8Array) => void) => void;

/** A revocation-list answer's bytes (after the type byte), or why there is none. */
export type RevocationsResult = { readonly ok: true; readonly answer: Buffer } | { readonly ok: false; readonly message: string };

export type ControlResult = { readonly ok: true; readonly answer: unknown } | { readonly ok: false; readonly message: string };

export const SECURITY_DROPS = [...AUTH_DROP_REASONS, 'datagram-too-large', 'control-unencrypted', 'control-malformed'] as const;
type SecurityDrop = (typeof SECURITY_DROPS)[number];

export class SecureTransport {
  readonly envelope: Envelope;
  private readonly inner: Transport;
  private readonly drops: Record<string, number> = {};
  private readonly stats = { decrypted: 0, plaintextAccepted: 0, controlIn: 0, controlOut: 0 };
  private controlHandler: ControlHandler | null = null;
  private revocationsHandler: RevocationsHandler | null = null;

  constructor(
    options: SecureTransportOptions,
    handlers: TransportHandlers,
  ) {
    this.envelope = options.envelope;
    for (const r of SECURITY_DROPS) this.drops[`security.dropped.${r}`] = 0;
    this.inner = new Transport(options, {
      onDatagram: (from, packet) => {
        if (packet.length > options.maxDatagramBytes) {
          this.drop('datagram-too-large');
          return;
        }
        const opened = this.openOrDrop(packet);
        if (opened === null) return;
        if (opened[0] === CONTROL_TYPE || opened[0] === REVOCATIONS_TYPE) {
          this.drop('control-malformed'); // key operations and revocation lists travel on streams only
          return;
        }
        handlers.onDatagram(from, opened);
      },
      onStreamFrame: (from, frame, reply) => {
        const r = this.envelope.open(frame);
        if (!r.ok) {
          this.drop(r.reason);
          return;
        }
        this.count(r.encrypted);
        const sealedReply = (f: Uint8Array): void => reply(this.envelope.seal(f));
        if (r.payload[0] === CONTROL_TYPE) {
          if (!r.encrypted) {
            this.drop('control-unencrypted');
            return;
          }
          const request = parseControl(r.payload);
          if (request === undefined || this.controlHandler === null) {
            this.drop('control-malformed');
            return;
          }
          this.stats.controlIn++;
          this.controlHandler(from, request, (answer) => reply(this.envelope.seal(encodeControl(answer), true)));
          return;
        }
        if (r.payload[0] === REVOCATIONS_TYPE) {
          const request = r.payload.length > MAX_REVOCATIONS_REQUEST_BYTES ? undefined : parseControl(r.payload);
          if (request === undefined || this.revocationsHandler === null) {
            this.drop('control-malformed');
            return;
          }
          this.revocationsHandler(from, request, (answer) => sealedReply(Buffer.concat([Buffer.from([REVOCATIONS_TYPE]), answer])));
          return;
        }
        handlers.onStreamFrame(from, r.payload, sealedReply);
      },
    });
  }

  /** Who answers revocation-list requests. */
  onRevocations(handler: RevocationsHandler): void {
    this.revocationsHandler = handler;
  }

  /**
   * Asks `to` for its revocation list; resolves with the answer's bytes (unchecked: the caller
   * verifies the CA's signature). Never rejects.
   */
  async dialRevocations(to: Address, request: unknown): Promise<RevocationsResult> {
    let answer: Buffer | undefined;
    const result = await this.inner.dial(to, this.envelope.seal(encodeControl(request, REVOCATIONS_TYPE)), (f) => {
      const opened = this.openOrDrop(f);
      if (opened === null) return;
      if (opened[0] !== REVOCATIONS_TYPE) {
        this.drop('control-malformed');
        return;
      }
      answer ??= opened.subarray(1);
    });
    if (answer !== undefined) return { ok: true, answer };
    if (!result.ok) return { ok: false, message: result.message };
    return { ok: false, message: 'the node closed the connection without answering (it may run a hearsay that does not spread revocation lists)' };
  }

  /** Who answers key-operation requests. */
  onControl(handler: ControlHandler): void {
    this.controlHandler = handler;
  }

  get address(): Address | null {
    return this.inner.address;
  }

  listen(): Promise<Address> {
    return this.inner.listen();
  }

  sendDatagram(to: Address, packet: Uint8Array): void {
    this.inner.sendDatagram(to, this.envelope.seal(packet));
  }

  dial(to: Address, frame: Uint8Array, onFrame: (frame: Buffer) => void): Promise<DialResult> {
    return this.inner.dial(to, this.envelope.seal(frame), (f) => {
      const opened = this.openOrDrop(f);
      if (opened === null) return;
      if (opened[0] === CONTROL_TYPE || opened[0] === REVOCATIONS_TYPE) {
        this.drop('control-malformed');
        return;
      }
      onFrame(opened);
    });
  }

  /** Sends one key-operation request to `to` and resolves with its answer. Never rejects. */
  async dialControl(to: Address, request: unknown): Promise<ControlResult> {
    if (this.envelope.keyring === null) return { ok: false, message: 'this node has no keyring' };
    this.stats.controlOut++;
    let answer: unknown;
    let got = false;
    const result = await this.inner.dial(to, this.envelope.seal(encodeControl(request), true), (f) => {
      const r = this.envelope.open(f);
      if (!r.ok) {
        this.drop(r.reason);
        return;
      }
      if (!r.encrypted || r.payload[0] !== CONTROL_TYPE) {
        this.drop(r.encrypted ? 'control-malformed' : 'control-unencrypted');
        return;
      }
      const parsed = parseControl(r.payload);
      if (parsed === undefined) {
        this.drop('control-malformed');
        return;
      }
      answer = parsed;
      got = true;
    });
    if (got) return { ok: true, answer };
    if (!result.ok) return { ok: false, message: result.message };
    return { ok: false, message: 'the node closed the connection without answering (it may hold none of our keys, or run a hearsay without key operations)' };
  }

  counterValues(): Record<string, number> {
    return {
      ...this.inner.counterValues(),
      ...this.drops,
      'security.packetsDecrypted': this.stats.decrypted,
      'security.plaintextAccepted': this.stats.plaintextAccepted,
      'security.keyOpsIn': this.stats.controlIn,
      'security.keyOpsOut': this.stats.controlOut,
    };
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private openOrDrop(packet: Uint8Array): Buffer | null {
    const r = this.envelope.open(packet);
    if (!r.ok) {
      this.drop(r.reason);
      return null;
    }
    this.count(r.encrypted);
    return r.payload;
  }

  private count(encrypted: boolean): void {
    if (encrypted) this.stats.decrypted++;
    else this.stats.plaintextAccepted++;
  }

  private drop(reason: AuthDropReason | SecurityDrop): void {
    this.drops[`security.dropped.${reason}`] = (this.drops[`security.dropped.${reason}`] ?? 0) + 1;
  }
}

function encodeControl(value: unknown, type: number = CONTROL_TYPE): Buffer {
  return Buffer.concat([Buffer.from([type]), Buffer.from(JSON.stringify(value), 'utf8')]);
}

function parseControl(payload: Buffer): unknown {
  if (payload.length > MAX_CONTROL_BYTES) return undefined;
  try {
    return JSON.parse(payload.subarray(1).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
