/**
 * A generated mesh behind the real HTTP server, for the web view at a scale no machine here can run
 * for real: `members` members (this node the first) and `instances` instances spread over
 * `names` service names, served through the same routes and shapes as a real agent (it is the
 * FakeAgent of the API tests with the member table and the index replaced). Bursts change many
 * members or names at once and emit the events a real agent would.
 * Used by test/integration/ui.test.ts (the view renders it) and bench/ui.ts (how fast).
 */
import { createHttpServer, type HttpServer } from '../../src/api/server.js';
import type { LookupOptions, ServiceInstance, ServiceSummary, HealthStatus } from '../../src/registry/types.js';
import type { MemberStatus } from '../../src/wire/messages.js';
import { FakeAgent, view } from '../api/fake-agent.js';

export interface FakeMeshOptions {
  readonly members: number;
  readonly instances: number;
  readonly names: number;
}

const node = (i: number): string => `node-${String(i).padStart(4, '0')}`;

export class FakeMesh extends FakeAgent {
  private readonly byName = new Map<string, ServiceInstance[]>();
  private readonly index = new Map<string, number>();
  private maxIndex = 1;

  constructor(readonly size: FakeMeshOptions) {
    super(node(0), []);
    this.views = Array.from({ length: size.members }, (_, i) => view(node(i), 'alive', { host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, incarnation: 1 + (i % 7), tags: { zone: `z${i % 3}`, role: i % 2 === 0 ? 'web' : 'db' } }));
    for (let k = 0; k < size.instances; k++) {
      const name = `svc-${String(k % size.names).padStart(4, '0')}`;
      const i = k % size.members;
      const inst: ServiceInstance = {
        id: `inst-${String(k).padStart(5, '0')}`,
        name,
        node: node(i),
        address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        port: 8000 + (k % 1000),
        tags: [`v${k % 3}`, k % 2 === 0 ? 'primary' : 'replica'],
        meta: { build: String(k) },
        status: k % 17 === 0 ? 'critical' : k % 11 === 0 ? 'warning' : 'passing',
      };
      const list = this.byName.get(name);
      if (list === undefined) this.byName.set(name, [inst]);
      else list.push(inst);
    }
  }

  override services(): ServiceSummary[] {
    return [...this.byName].map(([name, list]) => ({ name, instances: list.length, passing: list.filter((i) => i.status === 'passing').length }));
  }

  override lookup(name: string, options: LookupOptions = {}): readonly ServiceInstance[] {
    const list = this.byName.get(name) ?? [];
    const status = options.status ?? 'passing';
    return status === 'any' ? list : list.filter((i) => (typeof status === 'string' ? i.status === status : status.includes(i.status)));
  }

  override serviceIndex(name: string): number {
    return this.index.get(name) ?? 1;
  }

  override servicesIndex(): number {
    return this.maxIndex;
  }

  /** Sets `count` members (from the second on) to `status`, emitting the event a real agent would for each. */
  setMembers(count: number, status: MemberStatus): void {
    const type = ({ alive: 'member-alive', suspect: 'member-suspect', dead: 'member-dead', left: 'member-leave' } as const)[status];
    for (let i = 1; i <= count && i < this.views.length; i++) {
      const v = { ...(this.views[i] as (typeof this.views)[number]), status };
      this.views[i] = v;
      if (type === 'member-suspect' || type === 'member-dead') this.emit({ type, member: v, from: this.name });
      else this.emit({ type, member: v });
    }
  }

  /** Sets every instance of the first `count` names to `status`, emitting one service-change per name. */
  setNames(count: number, status: HealthStatus): void {
    const names = [...this.byName.keys()].slice(0, count);
    for (const name of names) {
      const list = (this.byName.get(name) ?? []).map((i) => ({ ...i, status }));
      this.byName.set(name, list);
      const index = ++this.maxIndex;
      this.index.set(name, index);
      this.emit({ type: 'service-change', name, index, instances: list.length, passing: list.filter((i) => i.status === 'passing').length });
    }
  }
}

/** The fake mesh behind a real HTTP server on 127.0.0.1 (a free port). */
export async function startFakeMesh(size: FakeMeshOptions, healthIntervalMs = 1000): Promise<{ mesh: FakeMesh; server: HttpServer; url: string }> {
  const mesh = new FakeMesh(size);
  const server = createHttpServer(mesh, { profile: 'local', healthIntervalMs });
  const at = await server.listen({ host: '127.0.0.1', port: 0 });
  return { mesh, server, url: `http://127.0.0.1:${at.port}/ui` };
}
