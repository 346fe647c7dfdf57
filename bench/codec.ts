/**
 * Codec benchmark: encode and decode operations per second for each message kind, as the core
 * uses them (a datagram of one message; a full datagram of gossip; a push-pull packet written and
 * read whole).
 *
 *   npm run bench:codec -- [--runs 9] [--ms 200] [--kind ping] --json
 *
 * Each run times a loop for at least --ms milliseconds of this process's CPU time (after one
 * untimed warm-up run); each figure is operations per CPU second, the median over --runs runs.
 * With --json, one JSON line per kind.
 */
import { decodePacket, encodeMessage, encodePacket, encodePushPullPacket, encodeTagsEntry, TAGS_KEY } from '../src/wire/codec.js';
import type { MemberRecord, MemberStatus, Message, PushPullMessage } from '../src/wire/messages.js';
import { benchArgs, median, round } from './support.js';

const USAGE = 'npm run bench:codec -- [--runs N] [--ms MS] [--kind KIND] [--json]';

const addr = { host: '10.0.0.1', port: 7946 };
const STATUSES: readonly MemberStatus[] = ['alive', 'suspect', 'dead', 'left'];

/** A member as the simulator and a real mesh carry them: ASCII names, a small payload (tags are a state entry since protocol 3). */
function member(i: number): MemberRecord {
  return {
    node: `node-${i}`,
    addr: { host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 7946 },
    incarnation: i * 3,
    status: STATUSES[i % 4]!,
    state: { payload: new Uint8Array(40).fill(i & 255) },
  };
}

function alive(i: number): Message {
  return { type: 'alive', node: `node-${i}`, addr, incarnation: i, state: { payload: new Uint8Array(60).fill(7) } };
}

/** A typical node tag set (what bench:codec's alive-node and tags-delta carry). */
const TYPICAL_TAGS = { dc: 'eu-west-1', role: 'web', version: '1.4.2', zone: 'eu-west-1a' };

/**
 * A node's alive as an agent sends it: no payload. Since protocol 3 its tags are not in it; they
 * are the state entry t:, whose change is `tags-delta` below.
 */
function aliveNode(i: number): Message {
  return { type: 'alive', node: `node-${i}`, addr, incarnation: i, state: { payload: null } };
}

/** What a tag change costs since protocol 3: one state-delta of the owner's t: entry. */
function tagsDelta(): Message {
  const entry = { key: TAGS_KEY, value: encodeTagsEntry(TYPICAL_TAGS), version: 7, deleted: false };
  return { type: 'state-delta', deltas: [{ node: 'node-42', generation: 1_733_000_000_000, fromVersion: 6, toVersion: 7, reset: false, collectedVersion: 0, entries: [entry] }] };
}

function pushPull(members: number): PushPullMessage {
  return { type: 'push-pull', join: false, reply: true, source: 'node-0', members: Array.from({ length: members }, (_, i) => member(i)) };
}

/** What one operation encodes: a packet of `messages` (or, for a push-pull, the framed packet). */
interface Kind {
  readonly name: string;
  readonly messages: readonly Message[];
}

const KINDS: readonly Kind[] = [
  { name: 'ping', messages: [{ type: 'ping', seq: 123_456, target: 'node-17', source: 'node-3', sourceAddr: addr }] },
  {
    name: 'ping-req',
    messages: [{ type: 'ping-req', seq: 123_456, target: 'node-17', targetAddr: { host: '10.0.0.17', port: 7946 }, source: 'node-3', sourceAddr: addr, nack: true }],
  },
  { name: 'ack', messages: [{ type: 'ack', seq: 123_456, digest: 0xdead_beef }] },
  { name: 'nack', messages: [{ type: 'nack', seq: 123_456 }] },
  { name: 'alive', messages: [alive(42)] },
  { name: 'alive-node', messages: [aliveNode(42)] },
  { name: 'tags-delta', messages: [tagsDelta()] },
  { name: 'suspect', messages: [{ type: 'suspect', node: 'node-17', incarnation: 9, from: 'node-3' }] },
  { name: 'dead', messages: [{ type: 'dead', node: 'node-17', incarnation: 10, from: 'node-3' }] },
  {
    name: 'compound',
    messages: [
      { type: 'ping', seq: 1, target: 'node-17', source: 'node-3', sourceAddr: addr },
      ...Array.from({ length: 8 }, (_, i) => alive(i)),
      { type: 'suspect', node: 'node-9', incarnation: 4, from: 'node-3' },
      { type: 'dead', node: 'node-8', incarnation: 5, from: 'node-3' },
    ],
  },
  { name: 'push-pull-100', messages: [pushPull(100)] },
  { name: 'push-pull-10000', messages: [pushPull(10_000)] },
];

function encode(messages: readonly Message[]): Uint8Array {
  const only = messages[0];
  if (messages.length === 1 && only?.type === 'push-pull') return encodePushPullPacket(only);
  const parts = new Array<Uint8Array>(messages.length);
  for (let i = 0; i < messages.length; i++) parts[i] = encodeMessage(messages[i]!);
  return encodePacket(parts);
}

/** Keeps results alive so the loops cannot be optimised away. */
let sink = 0;

/** CPU milliseconds this process has used (all its threads, the collector's included). */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * Operations per CPU second of `op`, looping for at least `ms` milliseconds of this process's CPU
 * time: on a shared machine, wall time would also count whatever else runs.
 */
function opsPerSec(op: () => number, ms: number): number {
  let ops = 0;
  let batch = 1;
  const start = cpuMs();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < batch; i++) sink += op();
    ops += batch;
    elapsed = cpuMs() - start;
    if (elapsed < ms / 10) batch *= 2;
  }
  return (ops / elapsed) * 1000;
}

function main(): void {
  const args = benchArgs('bench:codec', USAGE, {
    runs: { type: 'int', default: 9, min: 1 },
    ms: { type: 'int', default: 200, min: 10 },
    kind: { type: 'string', default: '' },
    json: { type: 'boolean' },
  });
  const kinds = args.kind === '' ? KINDS : KINDS.filter((k) => k.name === args.kind);
  if (kinds.length === 0) {
    process.stderr.write(`bench:codec: --kind must be one of ${KINDS.map((k) => k.name).join(', ')} (got ${args.kind})\nusage: ${USAGE}\n`);
    process.exit(2);
  }
  for (const kind of kinds) {
    const bytes = encode(kind.messages);
    const check = decodePacket(bytes);
    if (!check.ok) throw new Error(`${kind.name}: the benchmark's own packet does not decode: ${check.error.detail}`);
    const encodeOp = (): number => encode(kind.messages).length;
    const decodeOp = (): number => {
      const result = decodePacket(bytes);
      return result.ok ? result.messages.length : -1;
    };
    opsPerSec(encodeOp, args.ms);
    opsPerSec(decodeOp, args.ms);
    const enc: number[] = [];
    const dec: number[] = [];
    for (let r = 0; r < args.runs; r++) {
      enc.push(opsPerSec(encodeOp, args.ms));
      dec.push(opsPerSec(decodeOp, args.ms));
    }
    const result = {
      kind: kind.name,
      messages: kind.messages.length,
      bytes: bytes.length,
      runs: args.runs,
      encodeOpsPerSec: round(median(enc) ?? 0),
      decodeOpsPerSec: round(median(dec) ?? 0),
    };
    process.stdout.write(args.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`);
  }
  if (sink === 0) process.stderr.write('bench:codec: nothing was measured\n');
}

main();
