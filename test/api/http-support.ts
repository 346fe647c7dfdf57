/** A raw HTTP client for the API tests: node:http, so every header and body byte is the test's. */
import { request as httpRequest, type Agent as HttpAgent } from 'node:http';
import type { Address } from '../../src/wire/messages.js';

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
  json(): unknown;
}

export interface RawRequest {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string | number>>;
  readonly body?: string | Buffer;
  /** Send the body with chunked transfer encoding (no content-length). */
  readonly chunked?: boolean;
  /** A keep-alive agent to send it on (the same connection as earlier calls); @default a fresh connection */
  readonly via?: HttpAgent;
}

export function call(address: Address, path: string, options: RawRequest = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...options.headers };
    if (options.body !== undefined && options.chunked !== true && headers['content-length'] === undefined) {
      headers['content-length'] = Buffer.byteLength(options.body);
    }
    const req = httpRequest({ host: address.host, port: address.port, path, method: options.method ?? 'GET', headers, agent: options.via ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as unknown });
      });
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

export const json = (body: unknown): RawRequest => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
