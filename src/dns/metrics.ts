/**
 * What /metrics shows of the DNS interface: queries by type and outcome, and how long answering
 * took, by protocol. The server calls one hook, `onQuery`, for every query it handled (answered or
 * dropped); `classifyQuery` reads the type from the query's bytes and the outcome from the answer's
 * header, so the server's code paths need no bookkeeping of their own.
 */
import { Histogram, type HistogramSnapshot } from '../util/histogram.js';

/** Query types counted by name; every other type is `other`. */
export const DNS_QUERY_TYPES = ['A', 'AAAA', 'SRV', 'ANY', 'SOA', 'other'] as const;
export type DnsQueryType = (typeof DNS_QUERY_TYPES)[number];

/**
 * What became of a query: `answered` (NOERROR with records), `empty` (NOERROR without: a known name
 * with no passing instance, or no record of that type), `nxdomain`, `refused` (outside the domain),
 * `truncated` (TC set: the client retries over TCP), `formerr` (not exactly one question), `notimp`
 * (not a QUERY), `servfail`, `malformed` (not a DNS query: dropped, no answer).
 */
export const DNS_OUTCOMES = ['answered', 'empty', 'nxdomain', 'refused', 'truncated', 'formerr', 'notimp', 'servfail', 'malformed'] as const;
export type DnsOutcome = (typeof DNS_OUTCOMES)[number];

export const DNS_PROTOCOLS = ['udp', 'tcp'] as const;
export type DnsProtocol = (typeof DNS_PROTOCOLS)[number];

/** hearsay_dns_request_duration_seconds: 50 us to 100 ms (a local lookup answers in about 0.1 ms). */
export const DNS_DURATION_BUCKETS: readonly number[] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];

/** The server's hook: one call per query handled, with the time answering it took. */
export type DnsQueryHook = (type: DnsQueryType, outcome: DnsOutcome, protocol: DnsProtocol, seconds: number) => void;

const TYPE_CODES: Readonly<Record<number, DnsQueryType>> = { 1: 'A', 28: 'AAAA', 33: 'SRV', 255: 'ANY', 6: 'SOA' };
const RCODE_OUTCOMES: Readonly<Record<number, DnsOutcome>> = { 1: 'formerr', 2: 'servfail', 3: 'nxdomain', 4: 'notimp', 5: 'refused' };

/** The type of a query's first question, from its bytes (`other` when there is none or it is cut short). */
export function queryType(query: Uint8Array): DnsQueryType {
  if (query.length < 12 || ((query[4] as number) << 8) + (query[5] as number) === 0) return 'other';
  let i = 12;
  // The name: labels up to a zero byte, or a compression pointer (two bytes) that ends it.
  for (let labels = 0; labels < 128; labels++) {
    const len = query[i];
    if (len === undefined) return 'other';
    if (len === 0) {
      i += 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      i += 2;
      break;
    }
    if ((len & 0xc0) !== 0) return 'other';
    i += 1 + len;
  }
  if (i + 2 > query.length) return 'other';
  return TYPE_CODES[((query[i] as number) << 8) + (query[i + 1] as number)] ?? 'other';
}

/** The outcome of a query from the answer's header; no answer means the query was dropped as malformed. */
export function answerOutcome(answer: Uint8Array | undefined): DnsOutcome {
  if (answer === undefined || answer.length < 12) return 'malformed';
  const rcode = (answer[3] as number) & 0x0f;
  if (rcode !== 0) return RCODE_OUTCOMES[rcode] ?? 'servfail';
  if (((answer[2] as number) & 0x02) !== 0) return 'truncated';
  const answers = ((answer[6] as number) << 8) + (answer[7] as number);
  return answers > 0 ? 'answered' : 'empty';
}

/** queryType and answerOutcome of one exchange. */
export function classifyQuery(query: Uint8Array, answer: Uint8Array | undefined): { type: DnsQueryType; outcome: DnsOutcome } {
  return { type: queryType(query), outcome: answerOutcome(answer) };
}

/** The counts and durations behind the DNS families of the catalog (agent/counters.ts). */
export class DnsMetrics {
  private readonly queries = new Map<string, { readonly labels: { type: DnsQueryType; outcome: DnsOutcome }; value: number }>();
  private readonly durations: Record<DnsProtocol, Histogram> = { udp: new Histogram(DNS_DURATION_BUCKETS), tcp: new Histogram(DNS_DURATION_BUCKETS) };

  /** The hook to give createDnsServer({ onQuery }). */
  readonly onQuery: DnsQueryHook = (type, outcome, protocol, seconds) => {
    const key = `${type} ${outcome}`;
    const q = this.queries.get(key);
    if (q === undefined) this.queries.set(key, { labels: { type, outcome }, value: 1 });
    else q.value++;
    this.durations[protocol].observe(seconds);
  };

  /** hearsay_dns_queries_total: the (type, outcome) pairs seen so far. */
  queryCounts(): { readonly labels: Readonly<Record<string, string>>; readonly value: number }[] {
    return [...this.queries.values()].map((q) => ({ labels: { ...q.labels }, value: q.value }));
  }

  /** hearsay_dns_request_duration_seconds by catalog key (`dns.udp`, `dns.tcp`). */
  histograms(): Record<string, HistogramSnapshot> {
    return { 'dnsDuration.udp': this.durations.udp.snapshot(), 'dnsDuration.tcp': this.durations.tcp.snapshot() };
  }
}
