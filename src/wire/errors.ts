/**
 * Why a packet was dropped, as values. Every step of decoding returns either what it read or a
 * DecodeFailure, and `decodePacket` returns the first failure as its result; nothing is kept in
 * module state between calls.
 */
import { TYPE_NAMES } from './layout.js';
import type { Message, PushPullView } from './messages.js';

export type DecodeErrorCode =
  | 'empty'
  | 'too-large'
  | 'bad-version'
  | 'old-protocol'
  | 'malformed'
  | 'invalid-message'
  | 'too-many-messages'
  | 'too-many-members';

/** Why a packet was dropped. `detail` is for debug logs; `code` is for counters. */
export interface DecodeError {
  readonly code: DecodeErrorCode;
  readonly detail: string;
}

export type DecodeResult =
  | { readonly ok: true; readonly messages: Message[] }
  | { readonly ok: false; readonly error: DecodeError };

/** What `decodeCorePacket` returns: a push-pull as a PushPullView. */
export type CoreDecodeResult =
  | { readonly ok: true; readonly messages: (Message | PushPullView)[] }
  | { readonly ok: false; readonly error: DecodeError };

/**
 * What a decoding step returns instead of a value when the packet is to be dropped. A class, so
 * that `instanceof` tells it from any value a step reads (a tags record may have a `code` key).
 */
export class DecodeFailure implements DecodeError {
  constructor(
    readonly code: DecodeErrorCode,
    readonly detail: string,
  ) {}
}

/** A field of a message of type `typeCode` that is not what the layout says ('ping: invalid seq'). */
export function invalidField(typeCode: number, field: string): DecodeFailure {
  return new DecodeFailure('invalid-message', `${TYPE_NAMES[typeCode] ?? '?'}: invalid ${field}`);
}

/** The result for a dropped packet: a plain `{code, detail}`, as callers log and count it. */
export function failed(failure: DecodeError): DecodeResult {
  return { ok: false, error: { code: failure.code, detail: failure.detail } };
}

/** The result for a dropped packet, from its code and detail. */
export function failure(code: DecodeErrorCode, detail: string): DecodeResult {
  return { ok: false, error: { code, detail } };
}
