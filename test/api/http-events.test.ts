/**
 * GET /v1/events: Server-Sent Events of the agent's membership events.
 */
import { request, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/server.js';
import type { Address } from '../../src/wire/messages.js';
import { FakeAgent, view } from './fake-agent.js';

let server: HttpServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface Stream {
  readonly res: IncomingMessage;
  /** Resolves with everything received once `text` has appeared in it; rejects after 5 s without it. */
  until(text: string): Promise<string>;
  readonly ended: Promise<void>;
  close(): void;
}

function open(addr: Address): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request({ host: addr.host, port: addr.port, path: '/v1/events', headers: { accept: 'text/event-stream' } }, (res) => {
      let received = '';
      const waiters: { text: string; resolve: (all: string) => void }[] = [];
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        received += chunk;
        for (const w of [...waiters]) {
          if (received.includes(w.text)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(received);
          }
        }
      });
      const ended = new Promise<void>((r) => res.once('close', () => r()));
      resolve({
        res,
        until: (text) =>
          received.includes(text)
            ? Promise.resolve(received)
            : new Promise((r, fail) => {
                const timer = setTimeout(() => fail(new Error(`no ${JSON.stringify(text)} within 5 s; received ${JSON.stringify(received)}`)), 5000);
                waiters.push({ text, resolve: (all) => (clearTimeout(timer), r(all)) });
              }),
        ended,
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The SSE messages in `text`: event name and parsed data. */
function messages(text: string): { event: string; data: unknown }[] {
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('event: '))
    .map((block) => {
      const lines = block.split('\n');
      return { event: (lines[0] as string).slice('event: '.length), data: JSON.parse((lines[1] as string).slice('data: '.length)) as unknown };
    });
}

describe('GET /v1/events', () => {
  it('streams membership events as named SSE messages with JSON data, and stops listening when the client goes', async () => {
    const agent = new FakeAgent('node-a');
    server = createHttpServer(agent);
    const addr = await server.listen({ host: '127.0.0.1', port: 0 });
    const stream = await open(addr);
    expect(stream.res.statusCode).toBe(200);
    expect(stream.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    await stream.until(': hearsay agent node-a events');
    expect(agent.listenerCount).toBe(1);

    agent.emit({ type: 'member-join', member: view('node-b', 'alive', { port: 8000, incarnation: 1, tags: { role: 'db' } }) });
    agent.emit({ type: 'member-suspect', member: view('node-b', 'suspect', { port: 8000, incarnation: 1 }), from: 'node-c' });
    agent.emit({ type: 'self-refute', incarnation: 4, accusedBy: 'node-c' });
    const text = await stream.until('event: self-refute');
    expect(messages(text)).toEqual([
      {
        event: 'member-join',
        data: { type: 'member-join', member: { name: 'node-b', addr: '127.0.0.1', port: 8000, status: 'alive', incarnation: 1, tags: { role: 'db' } } },
      },
      {
        event: 'member-suspect',
        data: { type: 'member-suspect', member: { name: 'node-b', addr: '127.0.0.1', port: 8000, status: 'suspect', incarnation: 1, tags: {} }, from: 'node-c' },
      },
      { event: 'self-refute', data: { type: 'self-refute', incarnation: 4, accusedBy: 'node-c' } },
    ]);

    stream.close();
    await vi.waitFor(() => expect(agent.listenerCount).toBe(0));
  });

  it('sends keep-alive comments while nothing happens', async () => {
    const agent = new FakeAgent();
    server = createHttpServer(agent, { keepAliveMs: 20 });
    const stream = await open(await server.listen({ host: '127.0.0.1', port: 0 }));
    const text = await stream.until(': keep-alive\n\n: keep-alive\n\n');
    // Comments only: no event was made up to fill the silence.
    expect(messages(text)).toEqual([]);
    stream.close();
  });

  it('ends open streams cleanly when the server closes', async () => {
    const agent = new FakeAgent();
    server = createHttpServer(agent);
    const stream = await open(await server.listen({ host: '127.0.0.1', port: 0 }));
    await stream.until('events');
    await server.close();
    await stream.ended;
    expect(stream.res.complete).toBe(true);
    expect(agent.listenerCount).toBe(0);
  });

  it('refuses streams beyond the limit with 503 and a JSON error', async () => {
    const agent = new FakeAgent();
    server = createHttpServer(agent, { maxEventStreams: 1 });
    const addr = await server.listen({ host: '127.0.0.1', port: 0 });
    const first = await open(addr);
    const second = await open(addr);
    expect(second.res.statusCode).toBe(503);
    const body = JSON.parse(await second.until('}')) as { code: string };
    expect(body.code).toBe('HEARSAY_ERR_TOO_MANY_STREAMS');
    first.close();
  });
});
