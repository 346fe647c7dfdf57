import { afterEach, describe, expect, it } from 'vitest';
import { EventHub } from '../../src/agent/events.js';
import type { AgentEvent } from '../../src/agent/types.js';
import { createAgent } from '../../src/agent/agent.js';
import { Agents, waitFor } from './support.js';

const agents = new Agents();
afterEach(() => agents.closeAll());

describe('EventHub', () => {
  it('delivers to listeners and iterators in publish order', async () => {
    const hub = new EventHub<number>();
    const heard: number[] = [];
    hub.on((n) => heard.push(n));
    const it = hub.iterate();
    for (const n of [1, 2, 3]) hub.publish(n);
    hub.close();
    const got: number[] = [];
    for await (const n of it) got.push(n);
    expect(heard).toEqual([1, 2, 3]);
    expect(got).toEqual([1, 2, 3]);
  });

  it('ends an iterator when its signal aborts, even while it waits', async () => {
    const hub = new EventHub<number>();
    const ac = new AbortController();
    const it = hub.iterate(ac.signal);
    const pending = it.next();
    ac.abort();
    expect(await pending).toEqual({ value: undefined, done: true });
    hub.publish(1);
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it('ends at once for an already aborted signal', async () => {
    const hub = new EventHub<number>();
    const it = hub.iterate(AbortSignal.abort());
    hub.publish(1);
    expect((await it.next()).done).toBe(true);
  });

  it('drops the oldest events of a consumer that falls behind, and counts them', async () => {
    const hub = new EventHub<number>({ maxBuffered: 3 });
    const it = hub.iterate();
    for (let n = 1; n <= 5; n++) hub.publish(n);
    hub.close();
    const got: number[] = [];
    for await (const n of it) got.push(n);
    expect(got).toEqual([3, 4, 5]);
    expect(hub.dropped).toBe(2);
  });

  it('keeps calling the other listeners when one throws', () => {
    const errors: unknown[] = [];
    const hub = new EventHub<number>({ onListenerError: (e) => errors.push(e) });
    const heard: number[] = [];
    hub.on(() => {
      throw new Error('bad listener');
    });
    hub.on((n) => heard.push(n));
    hub.publish(7);
    expect(heard).toEqual([7]);
    expect(errors).toHaveLength(1);
  });
});

describe('agent events', () => {
  it('reach the listener and the iterator, and the iterator ends on abort', async () => {
    const a = await agents.started('ev-a');
    const b = await agents.started('ev-b');
    const heard: AgentEvent[] = [];
    const listener = (e: AgentEvent): void => void heard.push(e);
    b.on('event', listener);
    const ac = new AbortController();
    const seen: AgentEvent[] = [];
    const consumer = (async () => {
      for await (const e of b.events({ signal: ac.signal })) {
        seen.push(e);
        if (seen.length > 1000) break;
      }
    })();
    await b.join([a.address]);
    await waitFor('the iterator saw a joining', () => seen.some((e) => e.type === 'member-join' && e.member.name === 'ev-a'));
    expect(seen.some((e) => e.type === 'push-pull-complete' && e.join)).toBe(true);
    // member-join comes before push-pull-complete: the reply is merged, then the exchange completes.
    const types = seen.map((e) => e.type);
    expect(types.indexOf('member-join')).toBeLessThan(types.indexOf('push-pull-complete'));
    // The listener heard the same events in the same order; it is called as each is published, so
    // it is never behind the iterator.
    expect(heard.map((e) => e.type).slice(0, types.length)).toEqual(types);
    ac.abort();
    await consumer;
    b.off('event', listener);
  });

  it('end their iterators when the agent closes', async () => {
    const a = await agents.started('ev-close');
    const it = a.events();
    const pending = it.next();
    await a.close();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect((await a.events().next()).done).toBe(true);
  });

  it('close the agent on await using', async () => {
    let escaped: ReturnType<typeof createAgent> | undefined;
    {
      await using a = createAgent({ name: 'scoped', bind: { host: '127.0.0.1', port: 0 }, profile: 'local' });
      await a.start();
      escaped = a;
      expect(a.state).toBe('running');
    }
    expect(escaped?.state).toBe('closed');
  });
});
