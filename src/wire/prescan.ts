/**
 * The structural pre-scan: a walk over a packet's msgpack body that builds nothing and decides
 * whether decoding may begin. It admits only the msgpack types the protocol uses (nil, bool,
 * integers up to 32 bits, str, bin, array; no maps, floats, 64-bit integers or extensions), at most
 * MAX_DEPTH arrays deep, with every declared length inside the buffer, exactly one top-level array
 * and no trailing bytes. After it succeeds the whole tree has fewer values than the packet has
 * bytes, so decoding allocates in proportion to the packet, and the decoder's reads stay inside it.
 */
import { DecodeFailure } from './errors.js';

/** Array nesting: packet, message, push-pull members, member record, tags. */
export const MAX_DEPTH = 5;

function malformed(detail: string): DecodeFailure {
  return new DecodeFailure('malformed', detail);
}

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

/**
 * Walks the msgpack body after the version byte (b[0]) without building anything. Returns the
 * number of messages in the packet, or why it is 'malformed' or has 'too-many-messages'.
 */
export function scanBody(b: Uint8Array, maxMessages: number): number | DecodeFailure {
  const end = b.length;
  let pos = 1;
  if (pos >= end) return malformed('no body after the version byte');
  const first = b[pos++]!;
  let count: number;
  if (first >= 0x90 && first <= 0x9f) {
    count = first & 0x0f;
  } else if (first === 0xdc) {
    if (pos + 2 > end) return malformed('truncated array header');
    count = (b[pos]! << 8) | b[pos + 1]!;
    pos += 2;
  } else if (first === 0xdd) {
    if (pos + 4 > end) return malformed('truncated array header');
    count = b[pos]! * 0x100_0000 + ((b[pos + 1]! << 16) | (b[pos + 2]! << 8) | b[pos + 3]!);
    pos += 4;
  } else {
    return malformed(`body is not an array (first byte ${hex(first)})`);
  }
  if (count > maxMessages) return new DecodeFailure('too-many-messages', `${count} messages, at most ${maxMessages} allowed`);
  if (count > end - pos) return malformed(`array of ${count} declared in ${end - pos} bytes`);

  // Values still to read in each open array, outermost first.
  const stack = [count, 0, 0, 0, 0];
  let depth = 0;
  while (true) {
    const left = stack[depth]!;
    if (left === 0) {
      if (depth === 0) break;
      depth--;
      continue;
    }
    stack[depth] = left - 1;
    if (pos >= end) return malformed('truncated');
    const t = b[pos++]!;
    if (t < 0x80 || t >= 0xe0) continue; // positive or negative fixint
    let n: number;
    let isArray = false;
    if (t < 0x90) {
      return malformed(`map at offset ${pos - 1} (maps are never used)`);
    } else if (t < 0xa0) {
      n = t & 0x0f;
      isArray = true;
    } else if (t < 0xc0) {
      n = t & 0x1f; // fixstr
    } else {
      switch (t) {
        case 0xc0: // nil
        case 0xc2: // false
        case 0xc3: // true
          continue;
        case 0xcc: // uint8
        case 0xd0: // int8
          n = 1;
          break;
        case 0xcd: // uint16
        case 0xd1: // int16
          n = 2;
          break;
        case 0xce: // uint32
        case 0xd2: // int32
          n = 4;
          break;
        case 0xc4: // bin8
        case 0xd9: // str8
          if (pos + 1 > end) return malformed('truncated length');
          n = b[pos]!;
          pos += 1;
          break;
        case 0xc5: // bin16
        case 0xda: // str16
          if (pos + 2 > end) return malformed('truncated length');
          n = (b[pos]! << 8) | b[pos + 1]!;
          pos += 2;
          break;
        case 0xc6: // bin32
        case 0xdb: // str32
          if (pos + 4 > end) return malformed('truncated length');
          n = b[pos]! * 0x100_0000 + ((b[pos + 1]! << 16) | (b[pos + 2]! << 8) | b[pos + 3]!);
          pos += 4;
          break;
        case 0xdc: // array16
          if (pos + 2 > end) return malformed('truncated length');
          n = (b[pos]! << 8) | b[pos + 1]!;
          pos += 2;
          isArray = true;
          break;
        case 0xdd: // array32
          if (pos + 4 > end) return malformed('truncated length');
          n = b[pos]! * 0x100_0000 + ((b[pos + 1]! << 16) | (b[pos + 2]! << 8) | b[pos + 3]!);
          pos += 4;
          isArray = true;
          break;
        default:
          // 0xc1 (never used), ext*, fixext*, float32/64, (u)int64, map16/32
          return malformed(`unsupported msgpack type ${hex(t)} at offset ${pos - 1}`);
      }
    }
    if (n > end - pos) return malformed(`length ${n} at offset ${pos} runs past the end (${end} bytes)`);
    if (isArray) {
      if (depth + 1 >= MAX_DEPTH) return malformed(`arrays nested deeper than ${MAX_DEPTH}`);
      depth++;
      stack[depth] = n;
    } else {
      pos += n;
    }
  }
  if (pos !== end) return malformed(`${end - pos} trailing bytes after the body`);
  return count;
}
