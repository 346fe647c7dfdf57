/**
 * A node's tags as one entry of its versioned state (the state layer, src/state/): the key `t:`
 * and its value's bytes. Since protocol 3 tags ride here instead of in every alive message (and so
 * in every signed alive, push-pull record and refutation): a tag change is one delta of one entry,
 * with no new incarnation, and membership's messages carry liveness only.
 *
 * One entry for the whole set rather than one per tag: tags are few and small and are replaced as
 * a set (the config file's `tags`, `Agent.setTags`), so one entry is one atomic change (a reader
 * never sees half of a new set), costs one of the node's `maxEntries`, and is signed once.
 *
 * Value: 0x54 ('T'), the tag count (u8), then each tag as a u16 length and UTF-8 bytes of its key,
 * and the same of its value (big-endian lengths), in the object's key order. A value read from a
 * peer is checked against the decode limits tags always had (64 tags, 128-byte keys, 1 KiB values,
 * no reserved or duplicate key, valid UTF-8); the state layer's per-entry limit bounds it too.
 */
import { ByteWriter } from '../util/byte-writer.js';
import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from './limits.js';
import { isReservedTagKey } from './validation.js';

/** The state key of a node's tags. */
export const TAGS_KEY = 't:';
/** First byte of a tags entry's value. */
export const TAGS_MAGIC = 0x54;

const utf8 = new TextEncoder();
const strict = new TextDecoder('utf-8', { fatal: true });

/** Why tags cannot be encoded (for the owner: a user's input), or null when they can. */
export function tagsProblem(tags: Readonly<Record<string, string>>, limits: Pick<DecodeLimits, 'maxTags' | 'maxTagKeyBytes' | 'maxTagValueBytes'> = DEFAULT_DECODE_LIMITS): string | null {
  const keys = Object.keys(tags);
  if (keys.length > limits.maxTags) return `${keys.length} tags, at most ${limits.maxTags}`;
  for (const k of keys) {
    if (isReservedTagKey(k)) return `reserved tag key ${JSON.stringify(k)}`;
    const v = tags[k];
    if (typeof v !== 'string') return `tag ${JSON.stringify(k)} is not a string`;
    if (utf8.encode(k).length > limits.maxTagKeyBytes) return `tag key ${JSON.stringify(k.slice(0, 40))} over ${limits.maxTagKeyBytes} bytes`;
    if (utf8.encode(v).length > limits.maxTagValueBytes) return `tag ${JSON.stringify(k)}'s value over ${limits.maxTagValueBytes} bytes`;
  }
  return null;
}

/** The value of the `t:` entry for `tags` (at least one tag; no tags is no entry). Throws on tags tagsProblem refuses. */
export function encodeTagsEntry(tags: Readonly<Record<string, string>>): Uint8Array {
  const problem = tagsProblem(tags);
  if (problem !== null) throw new RangeError(`node tags: ${problem}`);
  const keys = Object.keys(tags);
  const w = new ByteWriter(2 + keys.length * 16);
  w.u8(TAGS_MAGIC);
  w.u8(keys.length);
  for (const k of keys) {
    const kb = utf8.encode(k);
    const vb = utf8.encode(tags[k] as string);
    w.u16(kb.length);
    w.bytes(kb);
    w.u16(vb.length);
    w.bytes(vb);
  }
  return w.done();
}

/** The tags a `t:` entry's value holds (a fresh frozen object), or why it is invalid. */
export function decodeTagsEntry(value: Uint8Array, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): Readonly<Record<string, string>> | string {
  if (value.length < 2 || value[0] !== TAGS_MAGIC) return 'not a tags entry';
  const count = value[1] as number;
  if (count > limits.maxTags) return `${count} tags, at most ${limits.maxTags}`;
  const tags: Record<string, string> = {};
  let pos = 2;
  const str = (max: number): string | undefined => {
    if (pos + 2 > value.length) return undefined;
    const n = ((value[pos] as number) << 8) | (value[pos + 1] as number);
    pos += 2;
    if (n > max || pos + n > value.length) return undefined;
    try {
      const s = strict.decode(value.subarray(pos, pos + n));
      pos += n;
      return s;
    } catch {
      return undefined;
    }
  };
  for (let i = 0; i < count; i++) {
    const key = str(limits.maxTagKeyBytes);
    if (key === undefined) return `tag ${i}: invalid key`;
    const v = str(limits.maxTagValueBytes);
    if (v === undefined) return `tag ${i}: invalid value`;
    if (isReservedTagKey(key)) return `reserved tag key ${JSON.stringify(key)}`;
    if (Object.hasOwn(tags, key)) return `duplicate tag key ${JSON.stringify(key)}`;
    tags[key] = v;
  }
  if (pos !== value.length) return `${value.length - pos} bytes after the tags`;
  return Object.freeze(tags);
}
