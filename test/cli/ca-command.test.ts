/** `hearsay ca` through the command line: each operation, --json, and every usage mistake named. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { capture } from './support.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = capture();
  const code = await main(['ca', ...argv], io);
  return { code, out: io.out(), err: io.err() };
}

describe('hearsay ca', () => {
  const root = mkdtempSync(join(tmpdir(), 'hearsay-ca-cli-'));
  const dir = join(root, 'ca');

  it('init, issue, revoke and inspect, in text and JSON', async () => {
    const init = await run('init', '--dir', dir, '--trust-domain', 'prod.example');
    expect(init.code).toBe(0);
    expect(init.out).toMatch(/made a CA for spiffe:\/\/prod\.example in .*ca\.key \(keep it offline, mode 0600\)/);
    const issue = await run('issue', '--dir', dir, '--node', 'web-1', '--services', 'billing, api-*', '--ttl', '7d', '--out', root, '--json');
    expect(issue.code).toBe(0);
    const issued = JSON.parse(issue.out) as { cert: string; services: string[] };
    expect(issued.services).toEqual(['billing', 'api-*']);
    const inspect = await run('inspect', issued.cert);
    expect(inspect.out).toMatch(/node {10}web-1\n {2}services {6}billing, api-\*/);
    const revoke = await run('revoke', '--dir', dir, issued.cert, '--reason', 'test');
    expect(revoke.code).toBe(0);
    expect(revoke.out).toMatch(/is now version 1 \(1 revoked\)/);
    const list = await run('inspect', join(dir, 'revocations.json'), '--ca', join(dir, 'ca.crt'));
    expect(list.out).toMatch(/version 1[\s\S]*verified with the CA/);
  });

  it.each<[string[], number, RegExp]>([
    [['nope'], 2, /unknown ca operation "nope": use init, issue, revoke, push or inspect/],
    [['revoke', 'x.crt', '--http', '127.0.0.1:1'], 2, /'hearsay ca revoke' takes --http only with --push/],
    [['push', '/nonexistent/revocations.json'], 2, /cannot read \/nonexistent\/revocations\.json \(ENOENT\): give the revocations\.json `hearsay ca revoke` wrote/],
    [['inspect', 'x', '--push'], 2, /'hearsay ca inspect' does not take --push/],
    [['init', '--dir', 'x'], 2, /needs --trust-domain DOMAIN/],
    [['init', '--serial', '1', '--trust-domain', 'a'], 2, /'hearsay ca init' does not take --serial/],
    [['issue', '--dir', 'x'], 2, /needs --node NAME/],
    [['revoke', '--dir', 'x'], 2, /takes exactly one of: a certificate FILE, --serial HEX or --fingerprint SHA256/],
    [['inspect'], 2, /takes one FILE/],
    [['issue', '--dir', '/nonexistent/ca', '--node', 'a'], 1, /holds no CA .*hearsay ca init --dir \/nonexistent\/ca/],
  ])('%j exits %i saying what to do', async (argv, code, message) => {
    const r = await run(...argv);
    expect(r.code).toBe(code);
    expect(r.err).toMatch(message);
  });
});
