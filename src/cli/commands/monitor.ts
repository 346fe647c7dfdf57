/**
 * `hearsay monitor [--log-level L]`: streams a running agent's log (GET /v1/agent/monitor) until
 * interrupted, at the level asked for, whatever the agent's own level is.
 */
import { request } from 'node:http';
import { clientCommand } from '../client-command.js';
import { UsageError } from '../command.js';
import { AgentUnreachableError } from '../http-client.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

export const command = clientCommand({
  name: 'monitor',
  summary: "stream a running agent's log, as it happens, until interrupted",
  details: 'Lines are text, or JSON with --json. Exit code 1 if the agent is not there or goes away.',
  flags: { 'log-level': { type: 'string', placeholder: 'LEVEL', default: 'info', description: `lowest level shown: ${LEVELS.join(', ')}` } },
  run(client, values, _args, io) {
    const level = values['log-level'];
    if (!LEVELS.includes(level)) throw new UsageError(`--log-level "${level}" is not a level: use one of ${LEVELS.join(', ')}`);
    const ac = new AbortController();
    const stop = (): void => ac.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const token = process.env.HEARSAY_HTTP_TOKEN;
    return new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: client.address.host,
          port: client.address.port,
          path: `/v1/agent/monitor?loglevel=${level}${values.json ? '&logjson' : ''}`,
          headers: token === undefined || token === '' ? {} : { authorization: `Bearer ${token}` },
          signal: ac.signal,
          agent: false,
        },
        (res) => {
          if (res.statusCode !== 200) {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString('utf8')));
            res.on('end', () => {
              const body = (() => {
                try {
                  return JSON.parse(text) as { error?: string; code?: string };
                } catch {
                  return { error: text };
                }
              })();
              reject(new Error(`${body.error ?? `HTTP ${res.statusCode}`}${body.code === undefined ? '' : ` (${body.code})`}`));
            });
            return;
          }
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => io.stdout.write(chunk));
          res.on('end', () => resolve(ac.signal.aborted ? 0 : 1));
          res.on('error', () => resolve(ac.signal.aborted ? 0 : 1));
        },
      );
      req.on('error', (err) => (ac.signal.aborted ? resolve(0) : reject(new AgentUnreachableError(client.address, err))));
      req.end();
    }).finally(() => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    });
  },
});
