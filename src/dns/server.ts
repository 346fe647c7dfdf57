/**
 * The agent's DNS interface, so that any program can find a service with the system resolver:
 *
 *   NAME.service.hearsay.         A / AAAA / SRV / ANY for the passing instances of NAME
 *   TAG.NAME.service.hearsay.     the same, only instances carrying TAG
 *   _NAME._TAG.service.hearsay.   RFC 2782 form (_tcp and _udp mean "any tag")
 *   NODE.node.hearsay.            A / AAAA of a live node's advertise address
 *   HEX.addr.hearsay.             A / AAAA of an SRV target (an instance's IP, hex-encoded)
 *
 * Answers come from the agent's local view (lookups are local), shuffled on every query so that
 * clients spread their load. A name the mesh does not know is NXDOMAIN; a known service with no
 * passing instance is an empty NOERROR answer; names outside the domain are REFUSED (hearsay is
 * authoritative for its domain and does not recurse). SRV targets are HEX.addr names (or the
 * instance's host name) with their A/AAAA records in the additional section.
 *
 * UDP answers fit 512 bytes, or the EDNS0 size the client offers (at most 4096); past that,
 * answers are trimmed and the TC bit is set, and the client retries over TCP, where messages
 * carry a two-byte length prefix and a connection may send many. Malformed queries are dropped
 * (UDP) or end the connection (TCP), and counted. The wire format is dns-packet's (a small,
 * widely used codec); everything else here is ours.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4, isIPv6, createServer, type Server, type Socket as TcpSocket, type AddressInfo } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Question } from 'dns-packet';
import type { Logger } from 'pino';
import type { ServiceInstance } from '../registry/types.js';
import type { Address } from '../wire/messages.js';
import type { Agent } from '../agent/types.js';
import { classifyQuery, type DnsQueryHook } from './metrics.js';


export interface DnsServerOptions {
  /** The domain hearsay answers for. @default "hearsay" */
  readonly domain?: string;
  /** TTL of every answer, in seconds. 0 means "ask again each time" (the view changes fast). @default 0 */
  readonly ttlSeconds?: number;
  /** Most concurrent TCP connections. @default 128 */
  readonly maxTcpConnections?: number;
  /** A TCP connection idle this long is closed, in ms. @default 10000 */
  readonly tcpIdleTimeoutMs?: number;
  /** Most answers in one UDP response (TCP answers carry them all, up to 64 KiB). @default 64 */
  readonly maxAnswers?: number;
  readonly logger?: Logger;
  /** Shuffle source (tests pass a seeded one). @default Math.random */
  readonly random?: () => number;
  /** Called for every query handled (answered or dropped), with its type, outcome and time to answer (DnsMetrics.onQuery). */
  readonly onQuery?: DnsQueryHook;
}

export type DnsLookupSource = Pick<Agent, 'lookup' | 'members' | 'services'>;

export interface DnsServer {
  /** Binds UDP and TCP on `address` (port 0: a free port, the same for both). */
  listen(address: Address): Promise<Address>;
  readonly address: Address | undefined;
  readonly counters: Readonly<Record<string, number>>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const UDP_DEFAULT = 512;
const UDP_MAX = 4096;
const MAX_TCP_MESSAGE = 65_535;

type Rcode = (typeof RCODE)[keyof typeof RCODE];

interface Resolution {
  rcode: Rcode;
  answers: Answer[];
  additionals: Answer[];
}

export function createDnsServer(source: DnsLookupSource, options: DnsServerOptions = {}): DnsServer {
  const domain = (options.domain ?? 'hearsay').toLowerCase().replace(/^\.+|\.+$/g, '');
  const ttl = options.ttlSeconds ?? 0;
  const maxTcp = options.maxTcpConnections ?? 128;
  const idleMs = options.tcpIdleTimeoutMs ?? 10_000;
  const maxAnswers = options.maxAnswers ?? 64;
  const random = options.random ?? Math.random;
  const log = options.logger;
  const counters = { queries: 0, udpQueries: 0, tcpQueries: 0, nxdomain: 0, refused: 0, truncated: 0, malformed: 0, tcpRejected: 0, unencodable: 0 };
  const soa: Answer = {
    type: 'SOA',
    name: domain,
    ttl,
    data: { mname: `ns.${domain}`, rname: `hostmaster.${domain}`, serial: 1, refresh: 3600, retry: 600, expire: 86_400, minimum: ttl },
  };

  let udp: Socket | undefined;
  let tcp: Server | undefined;
  let bound: Address | undefined;
  const sockets = new Set<TcpSocket>();

  const shuffle = <T>(list: T[]): T[] => {
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
    return list;
  };

  const addrRecords = (name: string, address: string, type: string): Answer[] => {
    if ((type === 'A' || type === 'ANY') && isIPv4(address)) return [{ type: 'A', name, ttl, data: address }];
    if ((type === 'AAAA' || type === 'ANY') && isIPv6(address)) return [{ type: 'AAAA', name, ttl, data: address }];
    return [];
  };

  /** The SRV target of an instance: HEX.addr.DOMAIN for an IP, else its host name. */
  const targetOf = (address: string): string => {
    if (isIPv4(address)) return `${address.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('')}.addr.${domain}`;
    if (isIPv6(address)) return `${expandIPv6(address)}.addr.${domain}`;
    return address.replace(/\.$/, '');
  };

  const serviceAnswers = (qname: string, type: string, instances: readonly ServiceInstance[]): Resolution => {
    const picked = shuffle([...instances]);
    const answers: Answer[] = [];
    const additionals: Answer[] = [];
    for (const i of picked) {
      if (type === 'A' || type === 'AAAA' || type === 'ANY') answers.push(...addrRecords(qname, i.address, type));
      if (type === 'SRV' || type === 'ANY') {
        const target = targetOf(i.address);
        answers.push({ type: 'SRV', name: qname, ttl, data: { priority: 1, weight: 1, port: i.port, target } });
        additionals.push(...addrRecords(target, i.address, 'ANY'));
      }
    }
    return { rcode: RCODE.NOERROR, answers, additionals };
  };

  const resolve = (q: Question): Resolution => {
    const qname = q.name.toLowerCase().replace(/\.$/, '');
    const type: string = q.type;
    const none = (rcode: Rcode): Resolution => ({ rcode, answers: [], additionals: [] });
    if (qname !== domain && !qname.endsWith(`.${domain}`)) return none(RCODE.REFUSED);
    const labels = qname === domain ? [] : qname.slice(0, -(domain.length + 1)).split('.');
    const kind = labels.at(-1);
    if (kind === 'service' && (labels.length === 2 || labels.length === 3)) {
      let name: string;
      let tag: string | undefined;
      if (labels.length === 3 && labels[0]!.startsWith('_') && labels[1]!.startsWith('_')) {
        name = labels[0]!.slice(1);
        const t = labels[1]!.slice(1);
        tag = t === 'tcp' || t === 'udp' ? undefined : t;
      } else {
        name = labels.length === 3 ? labels[1]! : labels[0]!;
        tag = labels.length === 3 ? labels[0] : undefined;
      }
      const any = source.lookup(name, { status: 'any' });
      if (any.length === 0) return none(RCODE.NXDOMAIN);
      // Tags are matched without regard to case, as DNS names are.
      const passing = source.lookup(name).filter((i) => tag === undefined || i.tags.some((t) => t.toLowerCase() === tag));
      return serviceAnswers(qname, type, passing);
    }
    if (kind === 'node' && labels.length >= 2) {
      const node = labels.slice(0, -1).join('.');
      const member = source.members().find((m) => m.name.toLowerCase() === node && (m.status === 'alive' || m.status === 'suspect'));
      if (member === undefined) return none(RCODE.NXDOMAIN);
      return { rcode: RCODE.NOERROR, answers: addrRecords(qname, member.addr, type), additionals: [] };
    }
    if (kind === 'addr' && labels.length === 2) {
      const ip = ipFromHex(labels[0]!);
      if (ip === undefined) return none(RCODE.NXDOMAIN);
      return { rcode: RCODE.NOERROR, answers: addrRecords(qname, ip, type), additionals: [] };
    }
    if (labels.length === 0 && (type === 'SOA' || type === 'ANY')) return { rcode: RCODE.NOERROR, answers: [soa], additionals: [] };
    if (labels.length === 0) return none(RCODE.NOERROR);
    return none(RCODE.NXDOMAIN);
  };

  /** The response to one raw query, or undefined for one not worth answering (dropped). */
  const answer = (raw: Buffer, limit: 'udp' | 'tcp'): Buffer | undefined => {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(raw);
    } catch {
      counters.malformed++;
      return undefined;
    }
    if (query.type !== 'query' || typeof query.id !== 'number') {
      counters.malformed++;
      return undefined;
    }
    counters.queries++;
    const questions = query.questions ?? [];
    const rd = query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0;
    const base = { type: 'response' as const, id: query.id, questions };
    if (questions.length !== 1 || (query as { opcode?: string }).opcode !== 'QUERY') {
      return dnsPacket.encode({ ...base, flags: rd | (questions.length !== 1 ? RCODE.FORMERR : RCODE.NOTIMP) });
    }
    const q = questions[0]!;
    let r: Resolution;
    try {
      r = resolve(q);
    } catch (err) {
      log?.error({ err, question: q.name }, 'dns: resolving failed');
      return dnsPacket.encode({ ...base, flags: rd | RCODE.SERVFAIL });
    }
    if (r.rcode === RCODE.NXDOMAIN) counters.nxdomain++;
    if (r.rcode === RCODE.REFUSED) counters.refused++;
    const authorities = r.rcode === RCODE.NXDOMAIN || (r.rcode === RCODE.NOERROR && r.answers.length === 0) ? [soa] : [];
    const opt = (query.additionals ?? []).find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
    const size = limit === 'tcp' ? MAX_TCP_MESSAGE : Math.min(UDP_MAX, Math.max(UDP_DEFAULT, opt?.udpPayloadSize ?? UDP_DEFAULT));
    const ednsOut: Answer[] = opt === undefined ? [] : [{ type: 'OPT', name: '.', udpPayloadSize: UDP_MAX, flags: 0, options: [] } as unknown as Answer];
    const all = encodable(r.answers);
    const extra = encodable(r.additionals);
    const cap = limit === 'udp' ? Math.min(all.length, maxAnswers) : all.length;
    const encode = (count: number, withAdditionals: boolean, tc: boolean): Buffer => {
      const kept = all.slice(0, count);
      const targets = new Set(kept.map((a) => (a.type === 'SRV' ? a.data.target : '')));
      const adds = withAdditionals ? extra.filter((a) => targets.has(a.name)) : [];
      const flags = dnsPacket.AUTHORITATIVE_ANSWER | rd | r.rcode | (tc ? dnsPacket.TRUNCATED_RESPONSE : 0);
      return dnsPacket.encode({ ...base, flags, answers: kept, authorities, additionals: [...adds, ...ednsOut] });
    };
    let out = encode(cap, true, cap < all.length);
    if (out.length <= size) return out;
    // Without the additional section (the client can resolve the targets itself: no TC for that).
    out = encode(cap, false, cap < all.length);
    if (out.length <= size) return out;
    // Still too large: the most answers that fit (a binary search), and TC so the client retries over TCP.
    counters.truncated++;
    let lo = 0;
    let hi = cap;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (encode(mid, false, true).length <= size) lo = mid;
      else hi = mid - 1;
    }
    return encode(lo, false, true);
  };

  /** The records dns-packet can encode (one odd record must not break the whole answer). */
  const encodable = (records: readonly Answer[]): Answer[] => {
    try {
      dnsPacket.encode({ type: 'response', id: 0, answers: [...records] });
      return [...records];
    } catch {
      counters.unencodable++;
      return records.filter((a) => {
        try {
          dnsPacket.encode({ type: 'response', id: 0, answers: [a] });
          return true;
        } catch {
          return false;
        }
      });
    }
  };

  /** answer(), and a query that makes it fail in a way not foreseen is dropped and counted, never fatal. */
  const safeAnswer = (raw: Buffer, limit: 'udp' | 'tcp'): Buffer | undefined => {
    const started = performance.now();
    let reply: Buffer | undefined;
    try {
      reply = answer(raw, limit);
    } catch (err) {
      counters.malformed++;
      log?.warn({ err }, 'dns: dropping a query that could not be answered');
    }
    if (options.onQuery !== undefined) {
      const { type, outcome } = classifyQuery(raw, reply);
      options.onQuery(type, outcome, limit, (performance.now() - started) / 1000);
    }
    return reply;
  };

  const onTcp = (socket: TcpSocket): void => {
    if (sockets.size >= maxTcp) {
      counters.tcpRejected++;
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.setTimeout(idleMs, () => socket.destroy());
    let buffered: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const len = buffered.readUInt16BE(0);
        if (buffered.length < 2 + len) break;
        const msg = buffered.subarray(2, 2 + len);
        buffered = buffered.subarray(2 + len);
        counters.tcpQueries++;
        const reply = safeAnswer(Buffer.from(msg), 'tcp');
        if (reply === undefined) {
          socket.destroy();
          return;
        }
        const framed = Buffer.alloc(2 + reply.length);
        framed.writeUInt16BE(reply.length, 0);
        reply.copy(framed, 2);
        socket.write(framed);
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  };

  return {
    async listen(address: Address): Promise<Address> {
      const server = createServer(onTcp);
      tcp = server;
      const port = await new Promise<number>((resolveListen, reject) => {
        server.once('error', reject);
        server.listen({ host: address.host, port: address.port }, () => {
          server.off('error', reject);
          resolveListen((server.address() as AddressInfo).port);
        });
      });
      const socket = createSocket({ type: isIPv6(address.host) ? 'udp6' : 'udp4' });
      udp = socket;
      socket.on('message', (msg, rinfo) => {
        counters.udpQueries++;
        const reply = safeAnswer(msg, 'udp');
        if (reply !== undefined) socket.send(reply, rinfo.port, rinfo.address);
      });
      socket.on('error', (err) => log?.warn({ err }, 'dns: udp socket error'));
      await new Promise<void>((resolveBind, reject) => {
        socket.once('error', reject);
        socket.bind({ address: address.host, port }, () => {
          socket.off('error', reject);
          resolveBind();
        });
      }).catch(async (err: unknown) => {
        await new Promise<void>((r) => server.close(() => r()));
        throw err;
      });
      bound = { host: address.host, port };
      return bound;
    },
    get address() {
      return bound;
    },
    counters,
    async close(): Promise<void> {
      for (const s of sockets) s.destroy();
      const closing: Promise<void>[] = [];
      if (tcp?.listening === true) closing.push(new Promise((r) => tcp!.close(() => r())));
      if (udp !== undefined) {
        const u = udp;
        udp = undefined;
        closing.push(new Promise((r) => u.close(() => r())));
      }
      await Promise.all(closing);
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}

/** "::1" → 32 hex digits; an embedded IPv4 tail ("::ffff:1.2.3.4") counts as two groups. */
export function expandIPv6(address: string): string {
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const o = tail.split('.').map(Number);
    const hi = (((o[0] ?? 0) << 8) | (o[1] ?? 0)).toString(16);
    const lo = (((o[2] ?? 0) << 8) | (o[3] ?? 0)).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const [head = '', rest] = text.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = rest === undefined || rest === '' ? [] : rest.split(':');
  const parts = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return parts.map((p) => p.padStart(4, '0')).join('').toLowerCase();
}

/** The IP a HEX.addr label stands for, if it is one. */
function ipFromHex(label: string): string | undefined {
  if (/^[0-9a-f]{8}$/.test(label)) {
    return [0, 2, 4, 6].map((i) => parseInt(label.slice(i, i + 2), 16)).join('.');
  }
  if (/^[0-9a-f]{32}$/.test(label)) {
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(label.slice(i, i + 4).replace(/^0+(?=.)/, ''));
    return groups.join(':');
  }
  return undefined;
}
