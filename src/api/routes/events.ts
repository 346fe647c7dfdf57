/**
 * GET /v1/events: the agent's events as Server-Sent Events (`event: member-join` + `data: {...}`,
 * members as in /v1/members), with keep-alive comments. Streams are bounded in number and in how
 * far a client may fall behind. With `?health`, the stream also carries `agent-health` every
 * healthIntervalMs (health.ts: the agent's own packets, drops, probe round trips, event-loop lag).
 */
import type { ServerResponse } from 'node:http';
import type { AgentEvent, AgentEvents, AgentNode } from '../../agent/types.js';
import type { ApiContext } from '../context.js';
import { HealthSampler } from '../health.js';
import { API_ERROR_CODES, ApiError } from '../errors.js';
import type { Route } from '../router.js';
import { memberInfoFromView } from './agent.js';

/** An agent event as the JSON `data` of an SSE message (members as in /v1/members). */
export function eventToJson(event: AgentEvent): Record<string, unknown> {
  if ('member' in event) return { ...event, member: memberInfoFromView(event.member) };
  return { ...event };
}

export interface EventRoutes {
  readonly routes: Route[];
  /** Ends every open stream (the server is closing). */
  endAll(): void;
}

export function eventRoutes(agent: AgentEvents & Pick<AgentNode, 'name' | 'counters' | 'histograms'>, ctx: ApiContext): EventRoutes {
  const keepAliveMs = ctx.options.keepAliveMs ?? 15_000;
  const health = new HealthSampler(agent, ctx.options.healthIntervalMs ?? 2000);
  const maxStreams = ctx.options.maxEventStreams ?? 64;
  const maxBacklog = ctx.options.maxEventBacklogBytes ?? 1024 * 1024;
  const streams = new Set<ServerResponse>();

  const route: Route = {
    method: 'GET',
    path: '/v1/events',
    handler: ({ req, res, query }) => {
      if (ctx.closing()) throw new ApiError(503, API_ERROR_CODES.shuttingDown, 'the agent is shutting down');
      if (streams.size >= maxStreams) {
        throw new ApiError(503, API_ERROR_CODES.tooManyStreams, `already ${streams.size} event streams open: close one and retry`);
      }
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.flushHeaders();
      streams.add(res);
      const write = (text: string): void => {
        if (res.writableEnded || res.destroyed) return;
        if (res.writableLength > maxBacklog) {
          ctx.log?.warn({ backlogBytes: res.writableLength }, 'ending an event stream whose client does not keep up');
          res.end(': ending: client too slow\n\n');
          return;
        }
        res.write(text);
      };
      const listener = (event: AgentEvent): void => write(`event: ${event.type}\ndata: ${JSON.stringify(eventToJson(event))}\n\n`);
      const timer = setInterval(() => write(': keep-alive\n\n'), keepAliveMs);
      timer.unref();
      const unsubscribe = query.has('health') ? health.subscribe((sample) => write(`event: agent-health\ndata: ${JSON.stringify(sample)}\n\n`)) : () => {};
      res.once('close', () => {
        clearInterval(timer);
        unsubscribe();
        agent.off('event', listener);
        streams.delete(res);
      });
      req.once('close', () => {
        if (!res.writableEnded) res.end();
      });
      agent.on('event', listener);
      write(`: hearsay agent ${agent.name} events\n\n`);
    },
  };
  return {
    routes: [route],
    endAll: () => {
      for (const res of streams) res.end();
      health.stop();
    },
  };
}
