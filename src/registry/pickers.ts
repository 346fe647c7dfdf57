/**
 * Load-balancing picks over a lookup result. Both skip instances that are not passing (lookups
 * return passing ones by default, and a caller may hand in any list) and prefer instances on alive
 * nodes: a suspect node's instances are picked only when no alive node has one.
 */
import type { Random } from '../util/random.js';
import type { ServiceInstance } from './types.js';

export type PickStrategy = 'round-robin' | 'random';

/** The candidates a pick chooses among: passing, on alive nodes when any, else on suspect ones. */
function candidates(list: readonly ServiceInstance[], isSuspect: (i: ServiceInstance) => boolean): readonly ServiceInstance[] {
  let allPassingAlive = true;
  for (const i of list) {
    if (i.status !== 'passing' || isSuspect(i)) {
      allPassingAlive = false;
      break;
    }
  }
  if (allPassingAlive) return list;
  const passing = list.filter((i) => i.status === 'passing');
  const alive = passing.filter((i) => !isSuspect(i));
  return alive.length > 0 ? alive : passing;
}

/** Round-robin per key (service name and tag filter): each call takes the next candidate. */
export class RoundRobinPicker {
  private readonly cursors = new Map<string, number>();
  private static readonly MAX_KEYS = 10_000;

  pick(key: string, list: readonly ServiceInstance[], isSuspect: (i: ServiceInstance) => boolean = () => false): ServiceInstance | undefined {
    const c = candidates(list, isSuspect);
    if (c.length === 0) return undefined;
    const n = this.cursors.get(key) ?? 0;
    if (!this.cursors.has(key) && this.cursors.size >= RoundRobinPicker.MAX_KEYS) this.cursors.clear();
    this.cursors.set(key, (n + 1) % 0x7fff_ffff);
    return c[n % c.length];
  }
}

/** Uniformly random among the candidates. */
export class RandomPicker {
  constructor(private readonly random: Random) {}

  pick(list: readonly ServiceInstance[], isSuspect: (i: ServiceInstance) => boolean = () => false): ServiceInstance | undefined {
    const c = candidates(list, isSuspect);
    if (c.length === 0) return undefined;
    return c[this.random.int(c.length)];
  }
}
