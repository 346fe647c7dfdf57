/**
 * The agent's DNS interface, so that any program can find a service with the system resolver:
 *
 *   NAME.service.hearsay.         A / AAAA / SRV / ANY for the passing instances of NAME
 *   TAG.NAME.service.hearsay.     the same, only instances carrying TAG
 *   _NAME._TAG.service.hearsay.   RFC 2782 form (_tcp and _udp mean "any tag")
 *   NODE.node.hearsay.            A / AAAA of a live node's advertise address
 *   HEX.addr.hearsay.             A / AAAA of an SRV target (an instance's IP, hex-encoded)
 *
 * With `consulDomain` (`hearsay agent --dns-domain consul`) the same names are answered under that
 * domain too, in Consul's forms: NAME.service.consul, TAG.NAME.service.consul,
 * _NAME._tcp.service.consul (RFC 2782), NODE.node.consul, each also with the datacenter label
 * (NAME.service.dc1.consul; another datacenter is NXDOMAIN), and SRV targets HEX.addr.DC.consul.
 * The default domain keeps today's forms.
 *
 * Answers come from the agent's local view (lookups are local), shuffled on every query so that
 * clients spread their load. A name the mesh does not know is NXDOMAIN; a known service with no
 * passing instance is an empty NOERROR answer; names outside the domain are REFUSED (hearsay is
 * authoritative for its domain and does not recurse). SRV targets are HEX.addr names (or the
 * instance's host name) with their A/AAAA records in the additional section.
 *
 * DNS is not an amplifier. A UDP response is at most `maxUdpAmplification` (10) times the size of
 * the query it answers, and at most the size the client offers (512 bytes, or its EDNS0 size up to
 * 4096); past that, additionals are dropped, then answers trimmed with the TC bit set, and the
 * client retries over TCP (where a spoofed source cannot receive anything). An ANY query gets one
 * synthesized HINFO "RFC8482" record (RFC 8482), so its response is under 2.2 times its query.
 *
 * Over TCP messages carry a two-byte length prefix and a connection may send many. TCP slots cannot
 * be starved: a new connection is always accepted; past `maxTcpPerSource` connections from its
 * address, that address's least recently active connection is closed, and when all
 * `maxTcpConnections` are open, the least recently active connection of the address holding the
 * most is. A connection must send a complete query within `tcpHeaderTimeoutMs` of connecting (and
 * finish any query it starts within as long), and is closed after `tcpIdleTimeoutMs` without
 * activity. A client that sends queries without reading the answers is not read from while
 * `tcpMaxQueuedAnswers` answers or `tcpMaxQueuedBytes` bytes wait to be sent to it (so it is then
 * closed at the idle timeout): the answers one connection holds are bounded. Malformed queries are
 * dropped (UDP) or end the connection (TCP), and counted. The wire format is dns-packet's (a
 * small, widely used codec); everything else here is ours.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4, isIPv6, createServer, type Server, type Socket as TcpSocket, type AddressInfo } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Question } from 'dns-packet';
import type { Logger } from '../log/logger.js';
import type { ServiceInstance } from '../registry/types.js';
import type { Address } from '../wire/messages.js';
import type { Agent } from '../agent/types.js';
import { normalizeHost } from '../transport/address.js';
import { classifyQuery, type DnsQueryHook } from './metrics.js';


export interface DnsServerOptions {
  /** The domain hearsay answers for. @default "hearsay" */
  readonly domain?: string;
  /**
   * A second domain answered in Consul's forms (with the optional datacenter label), e.g. "consul",
   * so that programs resolving NAME.service.consul find the mesh's services. @default none
   */
  readonly consulDomain?: string;
  /** The datacenter label Consul's forms accept (NAME.service.DC.DOMAIN). @default "dc1" */
  readonly datacenter?: string;
  /** TTL of every answer, in seconds. 0 means "ask again each time" (the view changes fast). @default 0 */
  readonly ttlSeconds?: number;
  /**
   * Most concurrent TCP connections; a new one past it closes the least recently active connection
   * of the address holding the most (counted as tcpClosed.connection-limit). @default 128
   */
  readonly maxTcpConnections?: number;
  /**
   * Most concurrent TCP connections from one address; a new one past it closes that address's least
   * recently active connection (tcpClosed.source-limit). @default 8
   */
  readonly maxTcpPerSource?: number;
  /** A TCP connection must send a complete query within this long of connecting or of starting one, in ms. @default 2000 */
  readonly tcpHeaderTimeoutMs?: number;
  /** A TCP connection idle this long (no query read, no answer taken by the client) is closed, in ms. @default 10000 */
  readonly tcpIdleTimeoutMs?: number;
  /** Answers waiting to be sent on one TCP connection before it is no longer read from. @default 16 */
  readonly tcpMaxQueuedAnswers?: number;
  /** Bytes waiting to be sent on one TCP connection before it is no longer read from. @default 65536 */
  readonly tcpMaxQueuedBytes?: number;
  /** A UDP response is at most this many times the size of its query (the rest: TC, retry over TCP). @default 10 */
  readonly maxUdpAmplification?: number;
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
  readonly counters: Readonly<Record<DnsCounter, number>>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The defaults of the limits above. */
export const DNS_DEFAULTS = Object.freeze({
  maxTcpConnections: 128,
  maxTcpPerSource: 8,
  tcpHeaderTimeoutMs: 2000,
  tcpIdleTimeoutMs: 10_000,
  tcpMaxQueuedAnswers: 16,
  tcpMaxQueuedBytes: 64 * 1024,
  maxUdpAmplification: 10,
});

/** Why the server closed a TCP connection (the tcpClosed.REASON counters). */
export const DNS_TCP_CLOSE_REASONS = ['source-limit', 'connection-limit', 'header-timeout', 'idle-timeout'] as const;
export type DnsTcpCloseReason = (typeof DNS_TCP_CLOSE_REASONS)[number];

/** Every counter of DnsServer.counters, in the order the catalog (agent/counters.ts) lists them. */
export const DNS_COUNTERS = [
  'udpQueries',
  'tcpQueries',
  'queries',
  'nxdomain',
  'refused',
  'truncated',
  'malformed',
  'unencodable',
  'anyMinimal',
  'udpAmplificationLimited',
  'tcpPaused',
  'tcpConnectionsOpen',
  ...DNS_TCP_CLOSE_REASONS.map((r) => `tcpClosed.${r}` as const),
] as const;
export type DnsCounter = (typeof DNS_COUNTERS)[number];

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const UDP_DEFAULT = 512;
const UDP_MAX = 4096;
const MAX_TCP_MESSAGE = 65_535;

type Rcode = (typeof RCODE)[keyof typeof RCODE];

interface Resolution {
  rcode: Rcode;
  answers: Answer[];
  additionals: Answer[];
  /** The SOA of the zone the name is in (none for a name outside every zone). */
  soa?: Answer;
}

export function createDnsServer(source: DnsLookupSource, options: DnsServerOptions = {}): DnsServer {
  const trimDomain = (d: string): string => d.toLowerCase().replace(/^\.+|\.+$/g, '');
  const ttl = options.ttlSeconds ?? 0;
  const datacenter = (options.datacenter ?? 'dc1').toLowerCase();
  const soaOf = (domain: string): Answer => ({
    type: 'SOA',
    name: domain,
    ttl,
    data: { mname: `ns.${domain}`, rname: `hostmaster.${domain}`, serial: 1, refresh: 3600, retry: 600, expire: 86_400, minimum: ttl },
  });
  /** The domains answered, longest first (a name under both is under the longer); `consul`: Consul's forms. */
  const zoneList: { name: string; consul: boolean; soa: Answer }[] = [{ name: trimDomain(options.domain ?? 'hearsay'), consul: false, soa: soaOf('') }];
  if (options.consulDomain !== undefined && options.consulDomain.trim() !== '') {
    const name = trimDomain(options.consulDomain);
    // The same domain named twice answers in Consul's forms (a superset of hearsay's).
    const i = zoneList.findIndex((z) => z.name === name);
    if (i >= 0) zoneList.splice(i, 1);
    zoneList.push({ name, consul: true, soa: soaOf('') });
  }
  for (const z of zoneList) z.soa = soaOf(z.name);
  zoneList.sort((a, b) => b.name.length - a.name.length);
  const limits = checkLimits(options);
  const { maxTcpConnections: maxTcp, maxTcpPerSource, tcpHeaderTimeoutMs: headerMs, tcpIdleTimeoutMs: idleMs, tcpMaxQueuedAnswers, tcpMaxQueuedBytes, maxUdpAmplification } = limits;
  const maxAnswers = options.maxAnswers ?? 64;
  const random = options.random ?? Math.random;
  const log = options.logger;
  const counters = Object.fromEntries(DNS_COUNTERS.map((k) => [k, 0])) as Record<DnsCounter, number>;

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

  /** The SRV target of an instance: HEX.addr.SUFFIX for an IP (SUFFIX: the domain, or DC.domain in Consul's forms), else its host name. */
  const targetOf = (address: string, suffix: string): string => {
    if (isIPv4(address)) return `${address.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('')}.addr.${suffix}`;
    if (isIPv6(address)) return `${expandIPv6(address)}.addr.${suffix}`;
    return address.replace(/\.$/, '');
  };

  const serviceAnswers = (qname: string, type: string, instances: readonly ServiceInstance[], suffix: string): Resolution => {
    const picked = shuffle([...instances]);
    const answers: Answer[] = [];
    const additionals: Answer[] = [];
    for (const i of picked) {
      if (type === 'A' || type === 'AAAA' || type === 'ANY') answers.push(...addrRecords(qname, i.address, type));
      if (type === 'SRV' || type === 'ANY') {
        const target = targetOf(i.address, suffix);
        answers.push({ type: 'SRV', name: qname, ttl, data: { priority: 1, weight: 1, port: i.port, target } });
        additionals.push(...addrRecords(target, i.address, 'ANY'));
      }
    }
    return { rcode: RCODE.NOERROR, answers, additionals };
  };

  const resolve = (q: Question): Resolution => {
    const qname = q.name.toLowerCase().replace(/\.$/, '');
    const zone = zoneList.find((z) => qname === z.name || qname.endsWith(`.${z.name}`));
    if (zone === undefined) return { rcode: RCODE.REFUSED, answers: [], additionals: [] };
    return { ...resolveIn(q, qname, zone), soa: zone.soa };
  };

  const resolveIn = (q: Question, qname: string, zone: (typeof zoneList)[number]): Resolution => {
    const type: string = q.type;
    const none = (rcode: Rcode): Resolution => ({ rcode, answers: [], additionals: [] });
    const domain = zone.name;
    const soa = zone.soa;
    const labels = qname === domain ? [] : qname.slice(0, -(domain.length + 1)).split('.');
    // Consul's forms may name the datacenter after the kind: NAME.service.DC.consul, NODE.node.DC.consul.
    if (zone.consul && labels.length >= 3 && labels.at(-1) === datacenter && ['service', 'node', 'addr'].includes(labels.at(-2) as string)) labels.pop();
    const suffix = zone.consul ? `${datacenter}.${domain}` : domain;
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
      return serviceAnswers(qname, type, passing, suffix);
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
    const opt = (query.additionals ?? []).find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
    // What the client can take, and, over UDP (where the source may be spoofed), the amplification bound.
    const offered = limit === 'tcp' ? MAX_TCP_MESSAGE : Math.min(UDP_MAX, Math.max(UDP_DEFAULT, opt?.udpPayloadSize ?? UDP_DEFAULT));
    const size = limit === 'tcp' ? offered : Math.min(offered, maxUdpAmplification * raw.length);
    /** The bare header with TC: 12 bytes, never more than the query. */
    const bare = (rcode: number): Buffer => dnsPacket.encode({ type: 'response', id: query.id, flags: dnsPacket.AUTHORITATIVE_ANSWER | rd | rcode | dnsPacket.TRUNCATED_RESPONSE });
    /** A response that would still be over `size` becomes the bare header. */
    const bounded = (out: Buffer, rcode: number): Buffer => {
      if (out.length <= size) return out;
      counters.truncated++;
      return bare(rcode);
    };
    if (questions.length !== 1) {
      // Not echoed: a query's questions may be compression pointers that expand to far more bytes.
      return bounded(dnsPacket.encode({ type: 'response', id: query.id, flags: rd | RCODE.FORMERR }), RCODE.FORMERR);
    }
    const base = { type: 'response' as const, id: query.id, questions };
    if ((query as { opcode?: string }).opcode !== 'QUERY') return bounded(dnsPacket.encode({ ...base, flags: rd | RCODE.NOTIMP }), RCODE.NOTIMP);
    const q = questions[0]!;
    let r: Resolution;
    try {
      r = resolve(q);
    } catch (err) {
      log?.error({ err, question: q.name }, 'dns: resolving failed');
      return bounded(dnsPacket.encode({ ...base, flags: rd | RCODE.SERVFAIL }), RCODE.SERVFAIL);
    }
    if (r.rcode === RCODE.NXDOMAIN) counters.nxdomain++;
    if (r.rcode === RCODE.REFUSED) counters.refused++;
    if ((q.type as string) === 'ANY' && r.rcode === RCODE.NOERROR) {
      // RFC 8482: a name that exists gets one synthesized HINFO record, not every record it has.
      counters.anyMinimal++;
      r = { rcode: RCODE.NOERROR, answers: [{ type: 'HINFO', name: q.name, ttl, data: { cpu: 'RFC8482', os: '' } }], additionals: [] };
    }
    const soaAuthority = r.soa !== undefined && (r.rcode === RCODE.NXDOMAIN || (r.rcode === RCODE.NOERROR && r.answers.length === 0)) ? [r.soa] : [];
    const ednsOut: Answer[] = opt === undefined ? [] : [{ type: 'OPT', name: '.', udpPayloadSize: UDP_MAX, flags: 0, options: [] } as unknown as Answer];
    const all = encodable(r.answers);
    const extra = encodable(r.additionals);
    const cap = limit === 'udp' ? Math.min(all.length, maxAnswers) : all.length;
    const encode = (count: number, withAdditionals: boolean, tc: boolean, authorities: Answer[] = soaAuthority): Buffer => {
      const kept = all.slice(0, count);
      const targets = new Set(kept.map((a) => (a.type === 'SRV' ? a.data.target : '')));
      const adds = withAdditionals ? extra.filter((a) => targets.has(a.name)) : [];
      const flags = dnsPacket.AUTHORITATIVE_ANSWER | rd | r.rcode | (tc ? dnsPacket.TRUNCATED_RESPONSE : 0);
      return dnsPacket.encode({ ...base, flags, answers: kept, authorities, additionals: [...adds, ...ednsOut] });
    };
    let out = encode(cap, true, cap < all.length);
    if (out.length <= size) return out;
    if (size < offered) counters.udpAmplificationLimited++;
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
    out = encode(lo, false, true);
    if (out.length <= size) return out;
    // Not even the negative answer's SOA fits the bound: without it (the answer stays right, it is only not cacheable).
    out = encode(0, false, true, []);
    return out.length <= size ? out : bare(r.rcode);
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

  /** Open TCP connections by source address, each with the sequence number of its last activity. */
  const bySource = new Map<string, Map<TcpSocket, number>>();
  let seq = 0;
  /** Drops a connection from the books at once (its 'close' event comes later); true if it was there. */
  const untrack = (socket: TcpSocket, source: string): boolean => {
    if (!sockets.delete(socket)) return false;
    const conns = bySource.get(source);
    conns?.delete(socket);
    if (conns?.size === 0) bySource.delete(source);
    counters.tcpConnectionsOpen = sockets.size;
    return true;
  };
  /** Closes a connection for `reason`, counted. */
  const closeTcp = (socket: TcpSocket, source: string, reason: DnsTcpCloseReason): void => {
    if (socket.destroyed) return;
    untrack(socket, source);
    counters[`tcpClosed.${reason}`]++;
    log?.debug({ from: source, reason }, 'dns: TCP connection closed');
    socket.destroy();
  };
  /** The least recently active connection of `conns`. */
  const stalest = (conns: Map<TcpSocket, number>): TcpSocket | undefined => {
    let pick: TcpSocket | undefined;
    let at = Infinity;
    for (const [s, t] of conns) if (t < at) [pick, at] = [s, t];
    return pick;
  };
  /**
   * Makes room for a new connection from `source`, so that a new client is always served: past the
   * per-source cap its own address's stalest connection goes; when every slot is taken, the stalest
   * of the address holding the most (ties: the one least recently active).
   */
  const makeRoom = (source: string): void => {
    const own = bySource.get(source);
    if (own !== undefined && own.size >= maxTcpPerSource) {
      const victim = stalest(own);
      if (victim !== undefined) closeTcp(victim, source, 'source-limit');
    }
    while (sockets.size >= maxTcp) {
      let heaviest: Map<TcpSocket, number> | undefined;
      let heaviestSource = '';
      for (const [src, conns] of bySource) {
        if (heaviest === undefined || conns.size > heaviest.size || (conns.size === heaviest.size && Math.min(...conns.values()) < Math.min(...heaviest.values()))) {
          heaviest = conns;
          heaviestSource = src;
        }
      }
      const victim = heaviest === undefined ? undefined : stalest(heaviest);
      if (victim === undefined) break;
      closeTcp(victim, heaviestSource, 'connection-limit');
    }
  };

  const onTcp = (socket: TcpSocket): void => {
    const source = normalizeHost(socket.remoteAddress ?? '');
    makeRoom(source);
    sockets.add(socket);
    let conns = bySource.get(source);
    if (conns === undefined) bySource.set(source, (conns = new Map()));
    conns.set(socket, ++seq);
    counters.tcpConnectionsOpen = sockets.size;
    const touch = (): void => {
      bySource.get(source)?.set(socket, ++seq);
    };
    socket.on('close', () => {
      clearTimeout(headerTimer);
      untrack(socket, source);
    });
    socket.on('error', () => socket.destroy());
    // Idle: nothing read and nothing the client took for idleMs (node's socket timeout counts both).
    socket.setTimeout(idleMs, () => closeTcp(socket, source, 'idle-timeout'));

    // A complete query within headerMs of connecting, and every query within headerMs of its first byte.
    let headerTimer: NodeJS.Timeout | undefined;
    const armHeader = (): void => {
      if (headerTimer !== undefined) return;
      headerTimer = setTimeout(() => closeTcp(socket, source, 'header-timeout'), headerMs);
      headerTimer.unref();
    };
    const disarmHeader = (): void => {
      clearTimeout(headerTimer);
      headerTimer = undefined;
    };
    armHeader();

    // Backpressure: answers handed to the socket and not yet taken by the kernel.
    let queued = 0;
    let paused = false;
    const full = (): boolean => queued >= tcpMaxQueuedAnswers || socket.writableLength >= tcpMaxQueuedBytes;
    const written = (): void => {
      queued--;
      if (paused && !full() && !socket.destroyed) {
        paused = false;
        pump();
        if (!paused) socket.resume();
      }
    };

    let buffered: Buffer = Buffer.alloc(0);
    /** Answers the complete queries buffered, until none is left or the client must read first. */
    const pump = (): void => {
      while (buffered.length >= 2 && !socket.destroyed) {
        const len = buffered.readUInt16BE(0);
        if (buffered.length < 2 + len) break;
        if (full()) {
          // The client is not reading its answers: read no more queries until it does.
          paused = true;
          counters.tcpPaused++;
          socket.pause();
          disarmHeader();
          return;
        }
        const msg = buffered.subarray(2, 2 + len);
        buffered = buffered.subarray(2 + len);
        counters.tcpQueries++;
        touch();
        const reply = safeAnswer(Buffer.from(msg), 'tcp');
        if (reply === undefined) {
          socket.destroy();
          return;
        }
        const framed = Buffer.alloc(2 + reply.length);
        framed.writeUInt16BE(reply.length, 0);
        reply.copy(framed, 2);
        queued++;
        socket.write(framed, written);
      }
      // A query begun and not finished must be finished within the header timeout; none: the idle timeout rules.
      if (buffered.length > 0) armHeader();
      else disarmHeader();
    };
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (!paused) pump();
    });
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

export type DnsLimit = keyof typeof DNS_DEFAULTS;
type DnsLimits = { -readonly [K in DnsLimit]: number };

/** The integers each limit may be (the config file's limits.dns* keys are checked against these too). */
export const DNS_LIMIT_RANGES: Readonly<Record<DnsLimit, readonly [min: number, max: number]>> = Object.freeze({
  maxTcpConnections: [1, 65_536],
  maxTcpPerSource: [1, 65_536],
  tcpHeaderTimeoutMs: [10, 600_000],
  tcpIdleTimeoutMs: [10, 3_600_000],
  tcpMaxQueuedAnswers: [1, 65_536],
  tcpMaxQueuedBytes: [1, 1 << 30],
  maxUdpAmplification: [1, 1000],
});

/** The limits of `options` with their defaults; a bad one (a caller's mistake) throws, naming it and what to give. */
function checkLimits(options: DnsServerOptions): DnsLimits {
  const out = { ...DNS_DEFAULTS } as DnsLimits;
  const problems: string[] = [];
  for (const key of Object.keys(DNS_LIMIT_RANGES) as DnsLimit[]) {
    const value = options[key] ?? DNS_DEFAULTS[key];
    const [min, max] = DNS_LIMIT_RANGES[key];
    if (!Number.isInteger(value) || value < min || value > max) problems.push(`${key} must be an integer in [${min}, ${max}] (got ${JSON.stringify(value)})`);
    else out[key] = value;
  }
  if (problems.length > 0) throw new RangeError(`createDnsServer: ${problems.join('; ')}`);
  return out;
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
