/**
 * A JSON client over one persistent HTTP/1.1 keep-alive connection (Node's http.Agent with one
 * socket): what a program beside the agent would hold open. Requests are one at a time (await
 * each). The agent's server closes a keep-alive connection idle for 5 s (Node's default); the next
 * request then opens a new one, counted in `connections`.
 */
import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class KeepAliveJsonClient {
  /** TCP connections opened so far (1 while the first one lives). */
  connections = 0;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1, keepAliveMsecs: 1000 });

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  get<T>(path: string, timeoutMs = 2000): Promise<T> {
    return this.send<T>('GET', path, undefined, timeoutMs);
  }

  post<T>(path: string, body: unknown, timeoutMs = 30_000): Promise<T> {
    return this.send<T>('POST', path, body, timeoutMs);
  }

  close(): void {
    this.agent.destroy();
  }

  private send<T>(method: string, path: string, body: unknown, timeoutMs: number): Promise<T> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
      const headers: Record<string, string | number> = {};
      if (data !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = data.length;
      }
      const req = request({ host: this.host, port: this.port, path, method, headers, agent: this.agent, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 400) {
            reject(new HttpError(status, `${method} ${path}: HTTP ${status} ${text.slice(0, 200)}`));
            return;
          }
          try {
            resolve((text === '' ? undefined : JSON.parse(text)) as T);
          } catch (err) {
            reject(err as Error);
          }
        });
        res.on('error', reject);
      });
      req.once('socket', (socket: Socket) => {
        // A fresh socket (not one reused from the pool) is a new connection.
        if (socket.connecting) {
          this.connections++;
          socket.setNoDelay(true);
        }
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(data);
    });
  }
}
