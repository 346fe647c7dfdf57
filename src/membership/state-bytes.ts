/**
 * State-delta bytes on the wire by entry kind (issue 13, point 6's stateBytesPerFlip measured on its
 * own, not taken from all traffic): every state-delta message the core encodes is remembered with
 * its bytes split by the kind of its entries, and counted each time it goes out (piggybacked,
 * answered by datagram or over a stream). An entry's key, value and signature bytes count for its
 * kind, by the key's prefix (the registry's `i:` instance, `s:` status, `c:` checks; membership's
 * `t:` tags; anything else `other`); the rest of the message (the msgpack framing, delta and entry
 * headers, announcements' empty deltas) counts as `header`. The kinds sum to the message's bytes.
 */
import type { NodeDelta } from '../state/types.js';
import type { MembershipCounters } from './counters.js';

export const STATE_BYTE_KINDS = ['instance', 'status', 'checks', 'tags', 'other', 'header'] as const;
export type StateByteKind = (typeof STATE_BYTE_KINDS)[number];

/** Bytes of one state-delta message by kind, in STATE_BYTE_KINDS' order. */
type Split = Float64Array;

/** Encoded state-delta messages (immutable, sent as they are) and their split. */
const splits = new WeakMap<Uint8Array, Split>();

/** UTF-8 bytes of a key (a lone surrogate as U+FFFD's 3, as the writer encodes it). */
function utf8Bytes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function kindOf(key: string): number {
  if (key.length >= 2 && key.charCodeAt(1) === 0x3a /* ':' */) {
    switch (key.charCodeAt(0)) {
      case 0x69: // i
        return 0;
      case 0x73: // s
        return 1;
      case 0x63: // c
        return 2;
      case 0x74: // t
        return 3;
    }
  }
  return 4;
}

/** Remembers `message` (a state-delta message of `deltas`) with its bytes by kind; returns it. */
export function noteStateDelta(message: Uint8Array, deltas: readonly NodeDelta[]): Uint8Array {
  const split: Split = new Float64Array(STATE_BYTE_KINDS.length);
  let entries = 0;
  for (const d of deltas) {
    for (const e of d.entries) {
      const n = utf8Bytes(e.key) + e.value.length + (e.signature?.length ?? 0);
      split[kindOf(e.key)] = (split[kindOf(e.key)] as number) + n;
      entries += n;
    }
  }
  split[5] = Math.max(0, message.length - entries);
  splits.set(message, split);
  return message;
}

/** Counts one sending of `part` (any encoded message: only state-delta messages noted above count). */
export function countStateBytes(counters: MembershipCounters, part: Uint8Array): void {
  const split = splits.get(part);
  if (split === undefined) return;
  counters['stateDeltaBytes.instance'] += split[0] as number;
  counters['stateDeltaBytes.status'] += split[1] as number;
  counters['stateDeltaBytes.checks'] += split[2] as number;
  counters['stateDeltaBytes.tags'] += split[3] as number;
  counters['stateDeltaBytes.other'] += split[4] as number;
  counters['stateDeltaBytes.header'] += split[5] as number;
}
