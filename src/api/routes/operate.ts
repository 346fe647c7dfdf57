/**
 * The operator routes of the API (Consul's paths, so its tools find them):
 *
 *   GET      /v1/agent/monitor?loglevel=info[&logjson]   the agent's log as it happens: text lines, or JSON lines with logjson
 *   PUT|POST /v1/agent/reload                            reread the config file: services, checks, log level → what changed
 *   PUT|POST /v1/agent/force-leave/:node                 mark a failed member left in every view
 */
import type { AgentNode } from '../../agent/types.js';
import type { ApiContext, LogSource } from '../context.js';
import { agentCall, API_ERROR_CODES, ApiError } from '../errors.js';
import type { Handler, Route } from '../router.js';

const MONITOR_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
type MonitorLevel = (typeof MONITOR_LEVELS)[number];

export function operateRoutes(agent: Pick<AgentNode, 'forceLeave' | 'name'>, ctx: ApiContext): Route[] {
  const monitor: Handler = ({ req, res, query }) => {
    const logs: LogSource | undefined = ctx.options.logs;
    if (logs === undefined) throw new ApiError(501, 'HEARSAY_ERR_NOT_IMPLEMENTED', "this agent's log is not available here: it is an embedded agent; `hearsay agent` serves it");
    if (ctx.closing()) throw new ApiError(503, API_ERROR_CODES.shuttingDown, 'the agent is shutting down');
    const level = (query.get('loglevel') ?? 'info').toLowerCase();
    if (!(MONITOR_LEVELS as readonly string[]).includes(level)) {
      throw new ApiError(400, API_ERROR_CODES.invalidRequest, `loglevel ${JSON.stringify(level)}: use one of ${MONITOR_LEVELS.join(', ')}`);
    }
    const json = query.has('logjson');
    res.writeHead(200, { 'content-type': json ? 'application/x-ndjson; charset=utf-8' : 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    const stop = logs.subscribe(level as MonitorLevel, json, (line) => {
      // A client that does not read is cut rather than buffered without bound.
      if (res.writableLength > 1024 * 1024) res.destroy();
      else if (!res.writableEnded) res.write(`${line}\n`);
    });
    let cancel: () => void = () => {};
    const end = (): void => {
      stop();
      cancel();
      if (!res.writableEnded) res.end();
    };
    req.once('close', end);
    res.once('close', end);
    cancel = ctx.onClose(end);
  };

  const reload: Handler = async ({ json }) => {
    const onReload = ctx.options.onReload;
    if (onReload === undefined) throw new ApiError(501, 'HEARSAY_ERR_NOT_IMPLEMENTED', 'this agent has no config file to reload: it is an embedded agent; `hearsay agent --config FILE` reloads');
    json(200, await onReload());
  };

  const forceLeave: Handler = ({ params: { node = '' }, json }) => {
    agentCall(() => agent.forceLeave(node));
    ctx.log?.info({ member: node }, 'force-leave through the HTTP API');
    json(200, { forceLeft: node });
  };

  return [
    { method: 'GET', path: '/v1/agent/monitor', handler: monitor, access: 'operator' },
    { method: 'PUT', path: '/v1/agent/reload', handler: reload },
    { method: 'POST', path: '/v1/agent/reload', handler: reload },
    { method: 'PUT', path: '/v1/agent/force-leave/:node', handler: forceLeave },
    { method: 'POST', path: '/v1/agent/force-leave/:node', handler: forceLeave },
  ];
}
