/**
 * Golden bytes: what the codec wrote and read before wire/ was split into files (issue 9, "one
 * codec path"), captured once from that codec and written down here. The split, and any later
 * restructuring, must keep every byte and every result: a change here is a change of the wire
 * format or of what a peer's packet does, and needs its own reason.
 *
 * Bytes are hex up to 512 bytes, else their length and SHA-256 (golden-cases.ts: bytesKey);
 * decode results are plain data with payloads as bytesKey (golden-cases.ts: normalize).
 *
 * Protocol version 2 (issue 13: the state layer) changed the version byte and nothing else of
 * these messages: the bytes below were captured at version 1, so the first byte of what the
 * encoder writes is compared as 1 (`asCaptured`), and a crafted packet at version 1 is decoded at
 * the current version (`atCurrent`). The version bytes themselves are tested on their own below.
 *
 * Protocol version 3 (issue 13, point 1: node tags are a state entry) took the tags field out of
 * the alive message and the push-pull record: the alive and push-pull cases (and the crafted
 * alives and records, now without their tags field) were re-captured from this codec then, the
 * tag cases moved to tags-entry.test.ts, and every other value is as it was.
 */
import { describe, expect, it } from 'vitest';
import {
  decodePacket,
  encodeMessage,
  encodePacket,
  encodePushPullPacket,
  encodedStateSize,
  packetOverheadBytes,
  PROTOCOL_VERSION,
} from '../../src/wire/codec.js';
import type { PushPullMessage } from '../../src/wire/messages.js';
import { bytesKey, DECODE_CASES, ENCODE_CASES, normalize, STATE_SIZE_CASES } from './golden-cases.js';

/** encodePacket(messages.map(encodeMessage)) for each ENCODE_CASES entry. */
const ENCODED: Readonly<Record<string, string>> = {
  'ping, smallest values':
    '0191960100a174a173a16801',
  'ping, largest seq and port, unicode names':
    '01919601ceffffffffaf6ec59375642dc39f2de69db1e4baacabf09fa69c20706172726f74a33a3a31cdffff',
  'pings at the integer form boundaries':
    '019696017fa162a161a1687f9601cc80a162a161a168cc809601ccffa162a161a168ccff9601cd0100a162a161a168cd01009601cdffffa162a161a168019601ce00010000a162a161a16801',
  'ping, 256-byte names and host (the limits)':
    '785 bytes, sha256 48f8995a8c6ff65549d187fe49e0a58e8b4648b66517d59c89b85da9354f7326',
  'pings with strings at the str form boundaries':
    '801 bytes, sha256 5aa8855c3c7a43088285ce1bb29d619474abc5c6b6ac426550bbb3e0ef147318',
  'ping-req asking for a nack':
    '019199024da163a831302e302e302e33cd1b58a161a7666538303a3a31cd1b59c3',
  'ping-req not asking for a nack, largest seq':
    '01919902ceffffffffafe382bfe383bce382b2e38383e38388b76e6f64652d632e6578616d706c652e696e7465726e616ccdffffa161ab323030313a6462383a3a3101c2',
  'acks':
    '0193930300009303ce0001e240cedeadbeef9303ceffffffffceffffffff',
  'nacks':
    '01939204009204ccc89204ceffffffff',
  'alive, empty state, incarnation 0':
    '01919605a161a831302e302e302e31cd1f0a00c0',
  'alive, largest incarnation':
    '01919605a161a831302e302e302e31cd1f0aceffffffffc0',
  'alive, empty payload':
    '01919605a161a831302e302e302e31cd1f0a01c400',
  'alives with payloads at the bin form boundaries':
    '66123 bytes, sha256 50f3b5dfeae85be19996611e0e5f061ee27e128d5d126ca731e82f0317754449',
  'suspect':
    '01919406a16209a161',
  'suspect and push-pull with names that start with a byte order mark':
    '01929406a4efbbbf6201d92befbbbf616161616161616161616161616161616161616161616161616161616161616161616161616161619508c2c2a4efbbbf739196a4efbbbf6ea831302e302e302e31cd1f0b0300c40301002a',
  'suspect, unicode names, largest incarnation':
    '01919406a8d183d0b7d0b5d0bbceffffffffa6e7af80e782b9',
  'dead':
    '01919407a1620aa161',
  'graceful leave (dead from itself), incarnation 0':
    '01919407a16200a162',
  'push-pull, empty, join':
    '01919508c3c2a16190',
  'push-pull, reply, every status':
    '01919508c2c3a1619496a66e6f64652d30a831302e302e302e30cd1f0a0000c096a66e6f64652d31a831302e302e302e31cd1f0b0301c40301002a96a66e6f64652d32a831302e302e302e32cd1f0c0602c40302002a96a66e6f64652d33a831302e302e302e33cd1f0d0903c40303002a',
  'push-pull, join and reply, unicode and limits':
    '864 bytes, sha256 997aa32b36ba9f46776d3f32e49b90b9004331369cd2c3bfcb8ccfc34baea0ab',
  'push-pull, 16 members sharing one state object':
    '01919508c2c2a473656564dc001096a66e6f64652d30a831302e302e302e30cd1f0a0000c40301020396a66e6f64652d31a831302e302e302e31cd1f0b0301c40301020396a66e6f64652d32a831302e302e302e32cd1f0c0602c40301020396a66e6f64652d33a831302e302e302e33cd1f0d0903c40301020396a66e6f64652d34a831302e302e302e34cd1f0e0c00c40301020396a66e6f64652d35a831302e302e302e35cd1f0f0f01c40301020396a66e6f64652d36a831302e302e302e36cd1f101202c40301020396a66e6f64652d37a831302e302e302e37cd1f111503c40301020396a66e6f64652d38a831302e302e302e38cd1f121800c40301020396a66e6f64652d39a831302e302e302e39cd1f131b01c40301020396a76e6f64652d3130a931302e302e302e3130cd1f141e02c40301020396a76e6f64652d3131a931302e302e302e3131cd1f152103c40301020396a76e6f64652d3132a931302e302e302e3132cd1f162400c40301020396a76e6f64652d3133a931302e302e302e3133cd1f172701c40301020396a76e6f64652d3134a931302e302e302e3134cd1f182a02c40301020396a76e6f64652d3135a931302e302e302e3135cd1f192d03c403010203',
  'push-pull, 10,000 members':
    '331896 bytes, sha256 080b04ecdc22a7c92e5e5d0d761133d811f20f9591d59e3befc53b2ce05bfc97',
  'no messages':
    '0190',
  'a compound packet of every kind':
    '0199960101a162a161a831302e302e302e31cd1f0a99024ea163a831302e302e302e31cd1f0aa161a831302e302e302e31cd1f0ac29303ce0001e240cedeadbeef9204cefffffffe9605a161a831302e302e302e31cd1f0a01c4030506079406a16209a1619407a1620aa1619508c2c3a1619296a66e6f64652d31a831302e302e302e31cd1f0b0300c40301002a96a66e6f64652d32a831302e302e302e32cd1f0c0602c40302002a9605a17aa831302e302e302e31cd1f0a02c40109',
  '15 acks (a fixarray packet)':
    '019f93030000930301cd03e8930302cd07d0930303cd0bb8930304cd0fa0930305cd1388930306cd1770930307cd1b58930308cd1f40930309cd232893030acd271093030bcd2af893030ccd2ee093030dcd32c893030ecd36b0',
  '16 acks (an array16 packet)':
    '01dc001093030000930301cd03e8930302cd07d0930303cd0bb8930304cd0fa0930305cd1388930306cd1770930307cd1b58930308cd1f40930309cd232893030acd271093030bcd2af893030ccd2ee093030dcd32c893030ecd36b093030fcd3a98',
  '256 messages (the limit)':
    '1741 bytes, sha256 3809123cb176788fb35a968c9165432e74df4b077f1dfe38e5778a25f2916b06',
  'untrusted: ping with seq -1, 2^32 and 1.5':
    '01939601ffa162a161a831302e302e302e31cd1f0a9601cb41f0000000000000a162a161a831302e302e302e31cd1f0a9601cb3ff8000000000000a162a161a831302e302e302e31cd1f0a',
  'untrusted: ping with port 0 and empty names':
    '0191960101a0a0a000',
  // Our own msgpack writes a lone surrogate as U+FFFD, as the hand-written push-pull always did
  // (msgpackr wrote the WTF-8 bytes ed a0 80, which the receiver read as three U+FFFD).
  'untrusted: alive with a lone surrogate in its name':
    '01919605a561efbfbd62a831302e302e302e31cd1f0a01c0',
  'untrusted: push-pull with a lone surrogate in a name':
    '01919508c2c2a1619196a478efbfbda831302e302e302e31cd1f0b0300c40301002a',
  'alive, unicode names and a payload':
    '01919605abc3bc6ec3af63c3b864c3a9b76e6f64652d612e6578616d706c652e696e7465726e616ccd206d2ac404000102ff',
  'alive, every limit at once (256-byte names, 65536-byte payload)':
    '66071 bytes, sha256 9b2d8d1c971784602c04a3613a6abc59f42eef73eda523a03d506fdd363043de',
  'push-pull, every limit at once (256-byte names, 65536-byte payload)':
    '66335 bytes, sha256 32e89580a003b309f4404ff9dbd62ec88fe57f89b10e7002705ce5d188984c27',
};

/** What the receiver makes of the packets the encoder writes from input it should not be given. */
const UNTRUSTED_DECODED: Readonly<Record<string, unknown>> = {
  'untrusted: ping with seq -1, 2^32 and 1.5':
    { error: { code: 'malformed', detail: 'unsupported msgpack type 0xcb at offset 23' } },
  'untrusted: ping with port 0 and empty names':
    { error: { code: 'invalid-message', detail: 'ping: invalid target' } },
  'untrusted: alive with a lone surrogate in its name':
    { messages: [{ type: 'alive', node: 'a\ufffdb', addr: { host: '10.0.0.1', port: 7946 }, incarnation: 1, state: { payload: null } }] },
  'untrusted: push-pull with a lone surrogate in a name':
    { messages: [{ type: 'push-pull', join: false, reply: false, source: 'a', members: [{ node: 'x\ufffd', addr: { host: '10.0.0.1', port: 7947 }, incarnation: 3, status: 'alive', state: { payload: 'bytes:01002a' } }] }] },
};

/** decodePacket(bytes, limits) for each DECODE_CASES entry. */
const DECODED: Readonly<Record<string, unknown>> = {
  'empty':
    { error: { code: 'empty', detail: 'empty packet' } },
  'too large for maxPacketBytes':
    { error: { code: 'too-large', detail: 'packet of 2000 bytes, at most 1400 allowed' } },
  'exactly maxPacketBytes':
    { messages: [{ type: 'ack', seq: 1, digest: 1 }] },
  'one byte over maxPacketBytes':
    { error: { code: 'too-large', detail: 'packet of 6 bytes, at most 5 allowed' } },
  'version 0':
    { error: { code: 'bad-version', detail: 'protocol version 0, expected 3' } },
  // Version 2 (the state layer, tags still in alive) is refused as old since version 3 moved the
  // tags into the state layer; version 3 is the current one: the ack of 'exactly maxPacketBytes'.
  'version 2':
    { error: { code: 'old-protocol', detail: 'protocol version 2 from a node running an older hearsay (this node speaks 3): upgrade that node' } },
  'version 3':
    { messages: [{ type: 'ack', seq: 1, digest: 1 }] },
  'version 255':
    { error: { code: 'bad-version', detail: 'protocol version 255, expected 3' } },
  'a version byte alone':
    { error: { code: 'malformed', detail: 'no body after the version byte' } },
  'a body that is a string':
    { error: { code: 'malformed', detail: 'body is not an array (first byte 0xa5)' } },
  'a body that is a fixmap':
    { error: { code: 'malformed', detail: 'body is not an array (first byte 0x81)' } },
  'a truncated array16 header':
    { error: { code: 'malformed', detail: 'truncated array header' } },
  'a truncated array32 header':
    { error: { code: 'malformed', detail: 'truncated array header' } },
  'trailing bytes after the body':
    { error: { code: 'malformed', detail: '1 trailing bytes after the body' } },
  'two bodies':
    { error: { code: 'malformed', detail: '5 trailing bytes after the body' } },
  'a truncated body':
    { error: { code: 'malformed', detail: 'length 3 at offset 3 runs past the end (5 bytes)' } },
  'a truncated string':
    { error: { code: 'malformed', detail: 'length 5 at offset 5 runs past the end (7 bytes)' } },
  'a truncated str8 length':
    { error: { code: 'malformed', detail: 'truncated length' } },
  'a truncated bin16 length':
    { error: { code: 'malformed', detail: 'truncated length' } },
  'a truncated array32 length':
    { error: { code: 'malformed', detail: 'truncated length' } },
  'a reserved 0xc1 byte':
    { error: { code: 'malformed', detail: 'unsupported msgpack type 0xc1 at offset 4' } },
  'a float64':
    { error: { code: 'malformed', detail: 'unsupported msgpack type 0xcb at offset 4' } },
  'a float32':
    { error: { code: 'malformed', detail: 'unsupported msgpack type 0xca at offset 4' } },
  'a uint64':
    { error: { code: 'malformed', detail: 'unsupported msgpack type 0xcf at offset 4' } },
  'an int64':
    { error: { code: 'malformed', detail: 'unsupported msgpack type 0xd3 at offset 4' } },
  'a fixext':
    { error: { code: 'malformed', detail: 'unsupported msgpack type 0xd4 at offset 4' } },
  'a timestamp extension':
    { error: { code: 'malformed', detail: 'unsupported msgpack type 0xd6 at offset 4' } },
  'an ext8':
    { error: { code: 'malformed', detail: 'unsupported msgpack type 0xc7 at offset 4' } },
  'a map16':
    { error: { code: 'malformed', detail: 'unsupported msgpack type 0xde at offset 4' } },
  'a fixmap inside a message':
    { error: { code: 'malformed', detail: 'map at offset 4 (maps are never used)' } },
  'arrays nested six deep':
    { error: { code: 'malformed', detail: 'arrays nested deeper than 5' } },
  'arrays nested five deep (allowed by the scan)':
    { error: { code: 'invalid-message', detail: 'message 0 has unknown type code of type object' } },
  'an array32 of 4 billion messages':
    { error: { code: 'too-many-messages', detail: '4294967295 messages, at most 256 allowed' } },
  'an array32 of 2^31 messages under a generous maxMessages':
    { error: { code: 'malformed', detail: 'array of 2147483647 declared in 0 bytes' } },
  'an array16 of 65535 messages':
    { error: { code: 'too-many-messages', detail: '65535 messages, at most 256 allowed' } },
  '3 messages declared in 2 bytes':
    { error: { code: 'malformed', detail: 'array of 3 declared in 2 bytes' } },
  'a message array32 of 4 billion fields':
    { error: { code: 'malformed', detail: 'length 4294967295 at offset 7 runs past the end (9 bytes)' } },
  'a str32 of 4 GiB':
    { error: { code: 'malformed', detail: 'length 4294967295 at offset 10 runs past the end (11 bytes)' } },
  'a bin32 of 4 GiB':
    { error: { code: 'malformed', detail: 'length 4294967295 at offset 16 runs past the end (17 bytes)' } },
  'nested array16s of 65535 each':
    { error: { code: 'malformed', detail: 'length 65535 at offset 11 runs past the end (17 bytes)' } },
  '257 messages':
    { error: { code: 'too-many-messages', detail: '257 messages, at most 256 allowed' } },
  '4 messages under maxMessages 3':
    { error: { code: 'too-many-messages', detail: '4 messages, at most 3 allowed' } },
  'a message that is a string':
    { error: { code: 'invalid-message', detail: 'message 0 is not an array' } },
  'a message that is a number':
    { error: { code: 'invalid-message', detail: 'message 0 is not an array' } },
  'a message that is nil':
    { error: { code: 'invalid-message', detail: 'message 0 is not an array' } },
  'an empty message':
    { error: { code: 'invalid-message', detail: 'message 0 has unknown type code of type undefined' } },
  // Code 9 is the state-delta since protocol version 2; 12 is the first unknown code.
  'type code 9':
    { error: { code: 'invalid-message', detail: 'state-delta: invalid deltas' } },
  'type code 15':
    { error: { code: 'invalid-message', detail: 'message 0 has unknown type code 15' } },
  'type code 0':
    { error: { code: 'invalid-message', detail: 'message 0 has unknown type code 0' } },
  'type code -1':
    { error: { code: 'invalid-message', detail: 'message 0 has unknown type code -1' } },
  'type code 200':
    { error: { code: 'invalid-message', detail: 'message 0 has unknown type code 200' } },
  'a string type code':
    { error: { code: 'invalid-message', detail: 'message 0 has unknown type code of type string' } },
  'a nil type code':
    { error: { code: 'invalid-message', detail: 'message 0 has unknown type code of type object' } },
  'a boolean type code':
    { error: { code: 'invalid-message', detail: 'message 0 has unknown type code of type boolean' } },
  'an array type code':
    { error: { code: 'invalid-message', detail: 'message 0 has unknown type code of type object' } },
  'a bin type code':
    { error: { code: 'invalid-message', detail: 'message 0 has unknown type code of type object' } },
  'one good message then a bad one':
    { error: { code: 'invalid-message', detail: 'ack: invalid seq' } },
  'one good message then an unknown one':
    { error: { code: 'invalid-message', detail: 'message 1 has unknown type code 42' } },
  'a good alive with a payload then a bad ack':
    { error: { code: 'invalid-message', detail: 'ack: invalid seq' } },
  'ping with a missing field':
    { error: { code: 'invalid-message', detail: 'ping: invalid length 5' } },
  'ping with an extra field':
    { error: { code: 'invalid-message', detail: 'ping: invalid length 7' } },
  'ping with a negative seq':
    { error: { code: 'invalid-message', detail: 'ping: invalid seq' } },
  'ping with seq -2^31':
    { error: { code: 'invalid-message', detail: 'ping: invalid seq' } },
  'ping with a string seq':
    { error: { code: 'invalid-message', detail: 'ping: invalid seq' } },
  'ping with an empty target':
    { error: { code: 'invalid-message', detail: 'ping: invalid target' } },
  'ping with a numeric target':
    { error: { code: 'invalid-message', detail: 'ping: invalid target' } },
  'ping with a 257-byte target':
    { error: { code: 'invalid-message', detail: 'ping: invalid target' } },
  'ping with a target of 86 three-byte characters (258 bytes)':
    { error: { code: 'invalid-message', detail: 'ping: invalid target' } },
  'ping with a target of 85 three-byte characters (255 bytes)':
    { messages: [{ type: 'ping', seq: 1, target: '東'.repeat(85), source: 'a', sourceAddr: { host: 'h', port: 1 } }] },
  'ping with a nil source':
    { error: { code: 'invalid-message', detail: 'ping: invalid source' } },
  'ping with a numeric source':
    { error: { code: 'invalid-message', detail: 'ping: invalid source' } },
  'ping with an empty host':
    { error: { code: 'invalid-message', detail: 'ping: invalid sourceAddr.host' } },
  'ping with a 257-byte host':
    { error: { code: 'invalid-message', detail: 'ping: invalid sourceAddr.host' } },
  'ping with port 0':
    { error: { code: 'invalid-message', detail: 'ping: invalid sourceAddr.port' } },
  'ping with port 65536':
    { error: { code: 'invalid-message', detail: 'ping: invalid sourceAddr.port' } },
  'ping with port -1':
    { error: { code: 'invalid-message', detail: 'ping: invalid sourceAddr.port' } },
  'ping with a boolean port':
    { error: { code: 'invalid-message', detail: 'ping: invalid sourceAddr.port' } },
  'ping with a name under maxNameBytes 1':
    { error: { code: 'invalid-message', detail: 'ping: invalid target' } },
  'ping with a host under maxHostBytes 1':
    { error: { code: 'invalid-message', detail: 'ping: invalid sourceAddr.host' } },
  'ping-req with a missing field':
    { error: { code: 'invalid-message', detail: 'ping-req: invalid length 8' } },
  'ping-req with a negative seq':
    { error: { code: 'invalid-message', detail: 'ping-req: invalid seq' } },
  'ping-req with an empty target':
    { error: { code: 'invalid-message', detail: 'ping-req: invalid target' } },
  'ping-req with an empty target host':
    { error: { code: 'invalid-message', detail: 'ping-req: invalid targetAddr.host' } },
  'ping-req with target port 0':
    { error: { code: 'invalid-message', detail: 'ping-req: invalid targetAddr.port' } },
  'ping-req with a numeric source':
    { error: { code: 'invalid-message', detail: 'ping-req: invalid source' } },
  'ping-req with a nil source host':
    { error: { code: 'invalid-message', detail: 'ping-req: invalid sourceAddr.host' } },
  'ping-req with source port 70000':
    { error: { code: 'invalid-message', detail: 'ping-req: invalid sourceAddr.port' } },
  'ping-req with a numeric nack':
    { error: { code: 'invalid-message', detail: 'ping-req: invalid nack' } },
  'ping-req with a nil nack':
    { error: { code: 'invalid-message', detail: 'ping-req: invalid nack' } },
  'ack with a missing digest':
    { error: { code: 'invalid-message', detail: 'ack: invalid length 2' } },
  'ack with a negative seq':
    { error: { code: 'invalid-message', detail: 'ack: invalid seq' } },
  'ack with a negative digest':
    { error: { code: 'invalid-message', detail: 'ack: invalid digest' } },
  'ack with a string digest':
    { error: { code: 'invalid-message', detail: 'ack: invalid digest' } },
  'nack with an extra field':
    { error: { code: 'invalid-message', detail: 'nack: invalid length 3' } },
  'nack with a nil seq':
    { error: { code: 'invalid-message', detail: 'nack: invalid seq' } },
  'alive with a short message':
    { error: { code: 'invalid-message', detail: 'alive: invalid length 5' } },
  'alive with an empty node':
    { error: { code: 'invalid-message', detail: 'alive: invalid node' } },
  'alive with a 257-byte host':
    { error: { code: 'invalid-message', detail: 'alive: invalid addr.host' } },
  'alive with port 0':
    { error: { code: 'invalid-message', detail: 'alive: invalid addr.port' } },
  'alive with a negative incarnation':
    { error: { code: 'invalid-message', detail: 'alive: invalid incarnation' } },
  'alive with a boolean incarnation':
    { error: { code: 'invalid-message', detail: 'alive: invalid incarnation' } },
  'alive with a string payload':
    { error: { code: 'invalid-message', detail: 'alive: invalid state.payload' } },
  'alive with a boolean payload':
    { error: { code: 'invalid-message', detail: 'alive: invalid state.payload' } },
  'alive with an array payload':
    { error: { code: 'invalid-message', detail: 'alive: invalid state.payload' } },
  'alive with a 65537-byte payload':
    { error: { code: 'invalid-message', detail: 'alive: invalid state.payload' } },
  'alive with a 10-byte payload under maxPayloadBytes 9':
    { error: { code: 'invalid-message', detail: 'alive: invalid state.payload' } },
  'alive under every limit exactly':
    { messages: [{ type: 'alive', node: 'node-a', addr: { host: 'host-a', port: 1 }, incarnation: 1, state: { payload: 'bytes:00000000000000000000' } }] },
  'suspect with a missing field':
    { error: { code: 'invalid-message', detail: 'suspect: invalid length 3' } },
  'suspect with an empty node':
    { error: { code: 'invalid-message', detail: 'suspect: invalid node' } },
  'suspect with a negative incarnation':
    { error: { code: 'invalid-message', detail: 'suspect: invalid incarnation' } },
  'suspect with an empty from':
    { error: { code: 'invalid-message', detail: 'suspect: invalid from' } },
  'dead with a boolean incarnation':
    { error: { code: 'invalid-message', detail: 'dead: invalid incarnation' } },
  'dead with a numeric from':
    { error: { code: 'invalid-message', detail: 'dead: invalid from' } },
  'dead with an extra field':
    { error: { code: 'invalid-message', detail: 'dead: invalid length 5' } },
  'push-pull with a missing field':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid length 4' } },
  'push-pull with a numeric join':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid join' } },
  'push-pull with a nil reply':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid reply' } },
  'push-pull with an empty source':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid source' } },
  'push-pull with members given as nil':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid members' } },
  'push-pull with members given as a string':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid members' } },
  'push-pull with 11 members under maxMembers 10':
    { error: { code: 'too-many-members', detail: 'push-pull: 11 members, at most 10 allowed' } },
  'push-pull with 11 members under maxMembers 11':
    { messages: [{ type: 'push-pull', join: false, reply: false, source: 'a', members: [{ node: 'n', addr: { host: 'h', port: 1 }, incarnation: 1, status: 'alive', state: { payload: null } }, { node: 'n', addr: { host: 'h', port: 1 }, incarnation: 1, status: 'alive', state: { payload: null } }, { node: 'n', addr: { host: 'h', port: 1 }, incarnation: 1, status: 'alive', state: { payload: null } }, { node: 'n', addr: { host: 'h', port: 1 }, incarnation: 1, status: 'alive', state: { payload: null } }, { node: 'n', addr: { host: 'h', port: 1 }, incarnation: 1, status: 'alive', state: { payload: null } }, { node: 'n', addr: { host: 'h', port: 1 }, incarnation: 1, status: 'alive', state: { payload: null } }, { node: 'n', addr: { host: 'h', port: 1 }, incarnation: 1, status: 'alive', state: { payload: null } }, { node: 'n', addr: { host: 'h', port: 1 }, incarnation: 1, status: 'alive', state: { payload: null } }, { node: 'n', addr: { host: 'h', port: 1 }, incarnation: 1, status: 'alive', state: { payload: null } }, { node: 'n', addr: { host: 'h', port: 1 }, incarnation: 1, status: 'alive', state: { payload: null } }, { node: 'n', addr: { host: 'h', port: 1 }, incarnation: 1, status: 'alive', state: { payload: null } }] }] },
  'push-pull with 2 members, the second bad, under maxMembers 1':
    { error: { code: 'too-many-members', detail: 'push-pull: 2 members, at most 1 allowed' } },
  'push-pull with a record that is a string':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid members[0].record (not an array)' } },
  'push-pull with a record that is nil':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid members[0].record (not an array)' } },
  'push-pull with a short record':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid members[0].record (length 5)' } },
  'push-pull with a long record':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid members[0].record (length 7)' } },
  'push-pull with an empty node':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid members[1].node' } },
  'push-pull with an empty host':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid members[1].addr.host' } },
  'push-pull with port 0':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid members[0].addr.port' } },
  'push-pull with a negative incarnation':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid members[0].incarnation' } },
  'push-pull with status 4':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid members[0].status' } },
  'push-pull with status -1':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid members[0].status' } },
  'push-pull with a string status':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid members[0].status' } },
  'push-pull with status 3 as a uint16':
    { messages: [{ type: 'push-pull', join: false, reply: false, source: 'a', members: [{ node: 'n', addr: { host: 'h', port: 1 }, incarnation: 1, status: 'left', state: { payload: null } }] }] },
  'push-pull with a string payload':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid members[0].state.payload' } },
  'push-pull with a 65537-byte payload':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid members[0].state.payload' } },
  'push-pull in a compound packet, with a bad record':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid members[0].status' } },
  'push-pull then an ack':
    { messages: [{ type: 'push-pull', join: true, reply: false, source: 'a', members: [{ node: 'n', addr: { host: 'h', port: 1 }, incarnation: 1, status: 'alive', state: { payload: null } }] }, { type: 'ack', seq: 1, digest: 1 }] },
  'two push-pulls':
    { messages: [{ type: 'push-pull', join: true, reply: false, source: 'a', members: [{ node: 'n', addr: { host: 'h', port: 1 }, incarnation: 1, status: 'alive', state: { payload: null } }] }, { type: 'push-pull', join: false, reply: true, source: 'b', members: [] }] },
  'an ack with every integer in its widest form':
    { messages: [{ type: 'ack', seq: 5, digest: 7 }] },
  'an ack with its type code as an int8':
    { messages: [{ type: 'ack', seq: 5, digest: 7 }] },
  'a ping with str8, str16 and str32 headers for short strings':
    { messages: [{ type: 'ping', seq: 1, target: 'b', source: 'a', sourceAddr: { host: 'h', port: 1 } }] },
  'a packet as an array32 and a message as an array16':
    { messages: [{ type: 'nack', seq: 9 }] },
  'a push-pull with the widest forms everywhere':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid members[0].record (length 7)' } },
  'a ping whose target is one invalid UTF-8 byte':
    { messages: [{ type: 'ping', seq: 1, target: '\ufffd', source: 'a', sourceAddr: { host: 'h', port: 1 } }] },
  'a ping whose target is 5 invalid UTF-8 bytes':
    { messages: [{ type: 'ping', seq: 1, target: '\ufffd\ufffd\ufffd\ufffd\ufffd', source: 'a', sourceAddr: { host: 'h', port: 1 } }] },
  'a ping whose target is 20 invalid UTF-8 bytes':
    { messages: [{ type: 'ping', seq: 1, target: '\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd', source: 'a', sourceAddr: { host: 'h', port: 1 } }] },
  'a ping whose target is 70 invalid UTF-8 bytes':
    { messages: [{ type: 'ping', seq: 1, target: '\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd', source: 'a', sourceAddr: { host: 'h', port: 1 } }] },
  'a ping whose target is 86 invalid UTF-8 bytes (258 bytes once decoded)':
    { error: { code: 'invalid-message', detail: 'ping: invalid target' } },
  'a ping whose target is 85 invalid UTF-8 bytes (255 bytes once decoded)':
    { messages: [{ type: 'ping', seq: 1, target: '\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd', source: 'a', sourceAddr: { host: 'h', port: 1 } }] },
  'a ping whose names mix truncated and overlong UTF-8':
    { messages: [{ type: 'ping', seq: 1, target: 'a\ufffdb\ufffd\ufffdc\ufffd', source: '\ufffd\ufffd\ufffd€\ufffd\ufffd\ufffd\ufffd', sourceAddr: { host: 'h', port: 1 } }] },
  'a ping whose names start with a byte order mark':
    { messages: [{ type: 'ping', seq: 1, target: '\ufeffb', source: '\ufeffaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', sourceAddr: { host: '\ufeffh', port: 1 } }] },
  'a push-pull whose node is invalid UTF-8':
    { messages: [{ type: 'push-pull', join: false, reply: false, source: 'a', members: [{ node: 'n\ufffd\ufffd\ufffd', addr: { host: 'h', port: 1 }, incarnation: 1, status: 'alive', state: { payload: null } }] }] },
  'a push-pull whose node is 86 invalid UTF-8 bytes':
    { error: { code: 'invalid-message', detail: 'push-pull: invalid members[0].node' } },
  'an alive with a bin32 payload':
    { messages: [{ type: 'alive', node: 'a', addr: { host: 'h', port: 1 }, incarnation: 1, state: { payload: 'bytes:0102' } }] },
  'a push-pull with non-ASCII names':
    { messages: [{ type: 'push-pull', join: false, reply: false, source: 'a', members: [{ node: 'ünïcødé', addr: { host: 'хост', port: 1 }, incarnation: 1, status: 'suspect', state: { payload: 'bytes:01' } }] }] },
  'a push-pull whose names start with a byte order mark':
    { messages: [{ type: 'push-pull', join: false, reply: false, source: 'a', members: [{ node: '\ufeffn', addr: { host: '\ufeffhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh', port: 1 }, incarnation: 1, status: 'alive', state: { payload: null } }] }] },
};

const STATE_SIZES: Readonly<Record<string, number>> = {
  'empty': 1,
  'a 3-byte payload': 5,
  'a 300-byte payload': 303,
  'a 65536-byte payload': 65541,
};

/** [parts, packetOverheadBytes(parts)] */
const OVERHEAD: readonly [number, number][] = [[0, 2], [1, 2], [15, 2], [16, 4], [65535, 4], [65536, 6]];

/** The packet as captured at version 1: the same bytes with the version byte 1. */
function asCaptured(bytes: Uint8Array): Uint8Array {
  expect(bytes[0]).toBe(PROTOCOL_VERSION);
  const out = bytes.slice();
  out[0] = 1;
  return out;
}

/** A crafted packet of version 1 as the same packet at the current version (others as they are). */
function atCurrent(bytes: Uint8Array): Uint8Array {
  if (bytes[0] !== 1) return bytes;
  const out = bytes.slice();
  out[0] = PROTOCOL_VERSION;
  return out;
}

describe('golden bytes', () => {
  it('has one expected value for every case, and no other', () => {
    expect(Object.keys(ENCODED).sort()).toEqual(ENCODE_CASES.map((c) => c.name).sort());
    expect(Object.keys(UNTRUSTED_DECODED).sort()).toEqual(ENCODE_CASES.filter((c) => !c.roundTrip).map((c) => c.name).sort());
    expect(Object.keys(DECODED).sort()).toEqual(DECODE_CASES.map((c) => c.name).sort());
    expect(Object.keys(STATE_SIZES).sort()).toEqual(STATE_SIZE_CASES.map(([name]) => name).sort());
  });

  describe('encoding', () => {
    it.each(ENCODE_CASES.map((c) => [c.name, c] as const))('%s', (name, c) => {
      const bytes = encodePacket(c.messages.map(encodeMessage));
      expect(bytesKey(asCaptured(bytes))).toBe(ENCODED[name]);
      const only = c.messages.length === 1 ? c.messages[0] : undefined;
      if (only?.type === 'push-pull') expect(bytesKey(asCaptured(encodePushPullPacket(only as PushPullMessage)))).toBe(ENCODED[name]);
    });

    it.each(STATE_SIZE_CASES)('encodedStateSize: %s', (name, state) => {
      expect(encodedStateSize(state)).toBe(STATE_SIZES[name]);
    });

    it.each(OVERHEAD)('packetOverheadBytes(%i) is %i', (parts, bytes) => {
      expect(packetOverheadBytes(parts)).toBe(bytes);
    });
  });

  describe('decoding what was encoded', () => {
    it.each(ENCODE_CASES.filter((c) => c.roundTrip).map((c) => [c.name, c] as const))('%s', (_name, c) => {
      const bytes = encodePacket(c.messages.map(encodeMessage));
      expect(decodePacket(bytes)).toEqual({ ok: true, messages: c.messages });
    });

    it.each(ENCODE_CASES.filter((c) => !c.roundTrip).map((c) => [c.name, c] as const))('%s', (name, c) => {
      const bytes = encodePacket(c.messages.map(encodeMessage));
      expect(normalize(decodePacket(bytes))).toEqual(UNTRUSTED_DECODED[name]);
    });
  });

  describe('decoding crafted packets', () => {
    it.each(DECODE_CASES.map((c) => [c.name, c] as const))('%s', (name, c) => {
      expect(normalize(decodePacket(atCurrent(c.bytes), c.limits))).toEqual(DECODED[name]);
    });
  });
});
