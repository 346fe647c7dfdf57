/**
 * The wire codec, as the other layers import it: messages to msgpack bytes and back, with packet
 * framing. This file only gathers the public names; each idea lives in its own file (the map is
 * in ARCHITECTURE.md, wire/): the layout of every message in layout.ts, encoding in encode.ts
 * (the push-pull in push-pull.ts), decoding in decode.ts after the pre-scan in prescan.ts.
 *
 * A packet is one version byte followed by ONE msgpack array whose elements are messages. Nothing
 * decoded is trusted: `decodePacket` never throws, and allocates in proportion to the packet.
 */
export { DEFAULT_DECODE_LIMITS, type DecodeLimits } from './limits.js';
export { FINGERPRINT_BYTES, MAX_CERT_BYTES, MAX_INCARNATION, MAX_SEQ, PROTOCOL_VERSION, SIGNATURE_BYTES } from './layout.js';
export type { CoreDecodeResult, DecodeError, DecodeErrorCode, DecodeResult } from './errors.js';
export { decodeTagsEntry, encodeTagsEntry, TAGS_KEY, tagsProblem } from './tags-entry.js';
export { encodedStateSize, encodeMessage, encodeSigned, encodeStateDeltaMessage, encodePacket, encodePushPullPacket, packetOverheadBytes } from './encode.js';
export { decodeCorePacket, decodePacket } from './decode.js';
export { encodePushPullFrom, encodeRecordPrefix, type PushPullRecordSource } from './push-pull.js';
