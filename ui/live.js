// @ts-check
/**
 * Keeps a MeshStore live: opens GET /v1/events?health, then (once the agent answered it) reads the
 * lists (members, every instance, this agent's checks and registrations), applies the events that
 * arrived meanwhile in order, and from then on each event as it comes. A `service-change` marks
 * its name; marked names are read again together a moment later (all instances at once when many
 * changed). Nothing is read on a timer: when the stream ends the view reconnects, with backoff, and
 * loads the lists again.
 */
import { getJson, readEvents, UnauthorizedError } from './api.js';

/** @typedef {import('./store.js').MeshStore} MeshStore */
/** @typedef {import('../src/api/view-types.js').AgentSelfInfo} AgentSelfInfo */
/** @typedef {import('../src/api/view-types.js').ServiceInstance} ServiceInstance */
/** @typedef {'connecting' | 'live' | 'retrying' | 'login'} ConnectionState */

/** Above this many changed names, one GET /v1/instances rather than one read per name. */
const MANY_NAMES = 16;
/** How long after a service-change the marked names are read (a burst is read once). */
const REREAD_DELAY_MS = 150;

export class Live {
  /**
   * @param {MeshStore} store
   * @param {(state: ConnectionState, detail: string) => void} onState
   * @param {(self: AgentSelfInfo['Hearsay']) => void} onSelf
   */
  constructor(store, onState, onSelf) {
    this.store = store;
    this.onState = onState;
    this.onSelf = onSelf;
    /** @type {AbortController | null} */
    this.abort = null;
    this.retryMs = 1000;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.rereadTimer = null;
    /** @type {Set<string>} nodes whose checks were asked for since the lists were last loaded */
    this.nodeChecksAsked = new Set();
    this.selfName = '';
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    void this.run();
  }

  stop() {
    this.stopped = true;
    this.abort?.abort();
  }

  async run() {
    while (!this.stopped) {
      const abort = new AbortController();
      this.abort = abort;
      const signal = abort.signal;
      this.onState('connecting', '');
      /** @type {unknown} */
      let failure = null;
      try {
        const me = /** @type {AgentSelfInfo} */ (await getJson('/v1/agent/self', signal)).Hearsay;
        this.selfName = me.name;
        this.onSelf(me);
        /** @type {[string, unknown][] | null} events that came before the lists did */
        let early = [];
        await readEvents('/v1/events?health', {
          signal,
          onOpen: () => {
            this.loadLists(signal).then(
              () => {
                for (const [type, data] of early ?? []) this.store.apply(type, data);
                early = null;
                this.retryMs = 1000;
                this.onState('live', '');
              },
              (err) => {
                failure = err;
                abort.abort();
              },
            );
          },
          onEvent: (type, data) => {
            if (early !== null) early.push([type, data]);
            else this.store.apply(type, data);
            if (type === 'service-change') this.scheduleReread(signal);
          },
        });
      } catch (err) {
        failure ??= err;
      }
      abort.abort();
      if (this.stopped) return;
      if (failure instanceof UnauthorizedError) {
        this.stopped = true;
        this.onState('login', failure.message);
        return;
      }
      const why = failure === null ? 'the event stream ended' : failure instanceof Error ? failure.message : String(failure);
      this.onState('retrying', `${why}; reconnecting in ${Math.round(this.retryMs / 1000)} s`);
      await new Promise((resolve) => setTimeout(resolve, this.retryMs));
      this.retryMs = Math.min(10_000, this.retryMs * 2);
    }
  }

  /** @param {AbortSignal} signal */
  async loadLists(signal) {
    const [members, instances, checks, registrations] = await Promise.all([
      getJson('/v1/members?detailed', signal),
      getJson('/v1/instances', signal),
      getJson('/v1/checks', signal),
      getJson('/v1/registrations', signal),
    ]);
    this.store.load(/** @type {any} */ ({ members, instances, checks, registrations }));
    this.nodeChecksAsked.clear();
  }

  /**
   * Another node's checks, read once when its instance is first shown (events keep them current).
   * @param {string} node
   */
  loadNodeChecks(node) {
    if (this.nodeChecksAsked.has(node)) return;
    this.nodeChecksAsked.add(node);
    void getJson(`/v1/checks?node=${encodeURIComponent(node)}`, undefined)
      .then((list) => this.store.setNodeChecks(node, /** @type {import('../src/api/view-types.js').CheckInfo[]} */ (list)))
      .catch(() => this.nodeChecksAsked.delete(node));
  }

  /** @param {AbortSignal} signal */
  scheduleReread(signal) {
    if (this.rereadTimer !== null) return;
    this.rereadTimer = setTimeout(() => {
      this.rereadTimer = null;
      void this.reread(signal).catch(() => {
        // the stream's end reconnects and reloads everything
      });
    }, REREAD_DELAY_MS);
  }

  /** @param {AbortSignal} signal */
  async reread(signal) {
    const names = this.store.takeDirty();
    if (names.length === 0 || signal.aborted) return;
    /** @type {readonly ServiceInstance[]} */
    let touched;
    if (names.length > MANY_NAMES) {
      const all = /** @type {ServiceInstance[]} */ (await getJson('/v1/instances', signal));
      this.store.setAllInstances(all);
      touched = all;
    } else {
      const lists = await Promise.all(names.map((n) => getJson(`/v1/services/${encodeURIComponent(n)}?status=any`, signal)));
      touched = [];
      names.forEach((n, i) => {
        const list = /** @type {ServiceInstance[]} */ (lists[i]);
        this.store.setInstances(n, list);
        touched = [...touched, ...list];
      });
    }
    // A change of this agent's own instances: its registrations (and their checks) too.
    const local = names.some((n) => (this.store.instances.get(n) ?? []).some((i) => i.node === this.selfName)) || [...this.store.registrations.values()].some((r) => names.includes(r.name));
    if (local || touched.some((i) => i.node === this.selfName)) {
      const regs = /** @type {import('../src/api/view-types.js').RegistrationInfo[]} */ (await getJson('/v1/registrations', signal));
      this.store.setRegistrations(regs);
    }
  }
}
