/**
 * Seeds as users write them, and their resolution through the system resolver, so that a DNS name
 * (a Kubernetes headless service, any record set) can be the seed list:
 *
 *   10.0.0.5:7946, [::1]:7946   an address
 *   peers.internal[:7946]       every A and AAAA record of the name (getaddrinfo, as every program on the host resolves it)
 *   dns+srv:_hearsay._udp.example   every SRV target of the name, each at its port, each target's A and AAAA records
 *
 * Names are resolved again every time a join runs, so a retried join follows the records.
 */
import { isIP } from 'node:net';
import type { SeedFailure } from '../errors.js';
import { addressKey, DEFAULT_PORT, formatHostPort, parseHostPort } from '../transport/address.js';
import type { Address } from '../wire/messages.js';
import { dnsPromises as dns } from '../builtins.js';

export const SRV_PREFIX = 'dns+srv:';

export type Seed =
  /** A host (IP or name) and port. */
  | { readonly kind: 'host'; readonly text: string; readonly address: Address }
  /** An SRV record set. */
  | { readonly kind: 'srv'; readonly text: string; readonly name: string };

export type ParsedSeed = { readonly ok: true; readonly seed: Seed } | { readonly ok: false; readonly problem: string };

const SRV_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;

/** Parses one seed; the problem completes a sentence such as `--join "x" <problem>`. */
export function parseSeed(text: string, defaultPort = DEFAULT_PORT): ParsedSeed {
  const t = text.trim();
  if (t.toLowerCase().startsWith(SRV_PREFIX)) {
    const name = t.slice(SRV_PREFIX.length);
    if (!SRV_NAME.test(name)) return { ok: false, problem: `has "${name}" after ${SRV_PREFIX}, which is not a DNS name: e.g. ${SRV_PREFIX}_hearsay._udp.example.com` };
    return { ok: true, seed: { kind: 'srv', text: t, name } };
  }
  const parsed = parseHostPort(t, { defaultPort });
  if (!parsed.ok) return parsed;
  return { ok: true, seed: { kind: 'host', text: t, address: parsed.address } };
}

/** How seed names are resolved; the system resolver by default, a fake in tests. */
export interface SeedResolver {
  /** Every address of a host name (A and AAAA). */
  lookup(host: string): Promise<readonly string[]>;
  /** The targets and ports of an SRV name. */
  resolveSrv(name: string): Promise<readonly { readonly name: string; readonly port: number }[]>;
}


export const systemResolver: SeedResolver = {
  lookup: async (host) => (await dns().lookup(host, { all: true, verbatim: true })).map((a) => a.address),
  resolveSrv: (name) => dns().resolveSrv(name),
};

export interface JoinTarget {
  readonly address: Address;
  readonly via?: string;
}

/**
 * A resolver that asks the given DNS servers (`HOST:PORT`) for everything, A and AAAA included,
 * instead of the system's: for a seed list served by a DNS server the host does not use.
 */
export function dnsResolver(servers: readonly string[]): SeedResolver {
  const r = new (dns().Resolver)({ timeout: 2000, tries: 2 });
  r.setServers([...servers]);
  return {
    lookup: async (host) => {
      const [v4, v6] = await Promise.allSettled([r.resolve4(host), r.resolve6(host)]);
      const found = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
      if (found.length === 0) throw v4.status === 'rejected' ? v4.reason : new Error(`${host} has no A or AAAA records`);
      return found;
    },
    resolveSrv: (name) => r.resolveSrv(name),
  };
}

export interface ResolvedSeeds {
  /** Every address to join through, once each; `via` is the seed when it was a name. */
  readonly targets: readonly JoinTarget[];
  /** Seeds that resolved to nothing, with why. */
  readonly failures: readonly SeedFailure[];
}

function resolutionFailure(seed: string, err: unknown): SeedFailure {
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason = errno === 'ENOTFOUND' || errno === 'ENODATA' ? 'the name has no such records' : `the name could not be resolved (${(err as Error)?.message ?? String(err)})`;
  return { seed, reason, ...(errno === undefined ? {} : { errno }), attempts: 1 };
}

async function hostAddresses(host: string, port: number, resolver: SeedResolver): Promise<Address[]> {
  if (isIP(host) !== 0) return [{ host, port }];
  const found = await resolver.lookup(host);
  return found.map((a) => ({ host: a, port }));
}

/** Resolves every seed (in parallel); an unresolvable one is a failure, never a throw. */
export async function resolveSeeds(seeds: readonly Seed[], resolver: SeedResolver = systemResolver): Promise<ResolvedSeeds> {
  const results = await Promise.all(
    seeds.map(async (seed): Promise<JoinTarget[] | SeedFailure> => {
      try {
        let addresses: Address[];
        if (seed.kind === 'host') addresses = await hostAddresses(seed.address.host, seed.address.port, resolver);
        else {
          const records = await resolver.resolveSrv(seed.name);
          addresses = (await Promise.all(records.map((r) => hostAddresses(r.name, r.port, resolver)))).flat();
        }
        if (addresses.length === 0) return { seed: seed.text, reason: 'the name has no addresses', attempts: 1 };
        const named = seed.kind === 'srv' || isIP(seed.address.host) === 0;
        return addresses.map((address) => (named ? { address, via: seed.text } : { address }));
      } catch (err) {
        return resolutionFailure(seed.text, err);
      }
    }),
  );
  // In the order the seeds were given, each address once.
  const failures: SeedFailure[] = [];
  const seen = new Set<string>();
  const targets: JoinTarget[] = [];
  for (const r of results) {
    if (!Array.isArray(r)) {
      failures.push(r);
      continue;
    }
    for (const t of r) {
      const key = addressKey(t.address);
      if (seen.has(key)) continue;
      seen.add(key);
      targets.push(t);
    }
  }
  return { targets, failures };
}

/** How a target is named in a failure: its address, and the name it came from. */
export function targetLabel(t: JoinTarget): string {
  return t.via === undefined ? formatHostPort(t.address) : `${formatHostPort(t.address)} (${t.via})`;
}
