/**
 * The services a config file declares, kept registered across reloads: each definition keeps the
 * instance id it was first registered under (its own `id`, or one the agent made), so reloading an
 * unchanged file changes nothing, a changed definition replaces its instance (checks whose
 * definition did not change keep their state), and a definition removed from the file is
 * deregistered. Nothing from the file is saved in the data dir: the file says it again next start.
 */
import type { AgentServices } from '../agent/types.js';
import type { ServiceDefinition } from '../registry/local.js';

export interface ServicesChange {
  readonly registered: string[];
  readonly updated: string[];
  readonly deregistered: string[];
}

/**
 * What identifies each definition across reloads: its id, or else its name and which of the
 * file's definitions of that name it is (so a changed port updates the instance in place).
 */
function keysOf(defs: readonly ServiceDefinition[]): string[] {
  const seen = new Map<string, number>();
  return defs.map((def) => {
    if (def.id !== undefined) return `id:${def.id}`;
    const n = seen.get(String(def.name)) ?? 0;
    seen.set(String(def.name), n + 1);
    return `name:${String(def.name)}#${n}`;
  });
}

export class ConfigServices {
  /** Definition key → the instance id and the definition as last registered. */
  private readonly current = new Map<string, { readonly id: string; readonly json: string }>();

  constructor(private readonly agent: Pick<AgentServices, 'register' | 'deregister'>) {}

  /**
   * Makes the registered set match `definitions`: every definition is registered before any
   * removal. A definition the agent refuses throws (the ones before it are applied; the file was
   * validated before, so only a state too large gets here).
   */
  apply(definitions: readonly ServiceDefinition[]): ServicesChange {
    const change: ServicesChange = { registered: [], updated: [], deregistered: [] };
    const next = new Map<string, { id: string; json: string }>();
    const keys = keysOf(definitions);
    for (const [i, def] of definitions.entries()) {
      const key = keys[i] as string;
      const known = this.current.get(key);
      const json = JSON.stringify(def);
      if (known !== undefined && known.json === json) {
        next.set(key, known);
        continue;
      }
      const inst = this.agent.register(known === undefined ? def : { ...def, id: known.id }, { persist: false });
      next.set(key, { id: inst.id, json });
      (known === undefined ? change.registered : change.updated).push(inst.id);
    }
    for (const [key, { id }] of this.current) {
      if (next.has(key)) continue;
      this.agent.deregister(id);
      change.deregistered.push(id);
    }
    this.current.clear();
    for (const [k, v] of next) this.current.set(k, v);
    return change;
  }
}
