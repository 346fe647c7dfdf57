/**
 * The light agent (issue 12.4): the CLI bundle scripts/build-cli.ts writes, and bin/hearsay.js,
 * which runs it (with V8's code cache) in an installed package and in a checkout whose build is
 * fresh, and the TypeScript source through tsx otherwise. Each case lays out a scratch package
 * (package.json, bin/hearsay.js, dist/cli/hearsay.cjs, optionally src/) and runs real processes.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../../scripts/build-cli.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'hearsay-bundle-'));
const built = join(scratch, 'hearsay.cjs');
let meta: Metafile;

beforeAll(async () => {
  meta = await buildCli(built);
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let packages = 0;
/** A scratch package: package.json (version 9.9.9-test), bin/hearsay.js (CommonJS by bin/package.json) and the bundle. */
function layout(opts: { source?: string } = {}): { dir: string; bin: string; cache: string } {
  const dir = join(scratch, `pkg-${packages++}`);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'dist', 'cli'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'hearsay', version: '9.9.9-test', type: 'module' }));
  copyFileSync(join(repo, 'bin', 'hearsay.js'), join(dir, 'bin', 'hearsay.js'));
  copyFileSync(join(repo, 'bin', 'package.json'), join(dir, 'bin', 'package.json'));
  copyFileSync(built, join(dir, 'dist', 'cli', 'hearsay.cjs'));
  if (opts.source !== undefined) {
    mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
    writeFileSync(join(dir, 'src', 'cli', 'main.ts'), opts.source);
  }
  return { dir, bin: join(dir, 'bin', 'hearsay.js'), cache: join(dir, 'cache') };
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(bin: string, args: readonly string[], cache: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 60_000, killSignal: 'SIGKILL', env: { ...process.env, XDG_CACHE_HOME: cache, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

const cacheFiles = (cache: string): string[] => {
  try {
    return readdirSync(join(cache, 'hearsay')).filter((f) => f.endsWith('.v8'));
  } catch {
    return [];
  }
};

describe('the CLI bundle', () => {
  it('holds the CLI and its production dependencies, without the npm buffer polyfill, the optional peers or pino', () => {
    const inputs = Object.keys(meta.inputs);
    expect(inputs.some((i) => i.endsWith('src/cli/main.ts'))).toBe(true);
    expect(inputs.some((i) => /node_modules\/dns-packet\//.test(i))).toBe(true);
    // The logger is our own (src/log/logger.ts): pino and what it loads cost every agent ~14 ms and 1.9 MB.
    expect(inputs.filter((i) => /node_modules\/(pino|thread-stream|sonic-boom)/.test(i))).toEqual([]);
    expect(inputs.filter((i) => /node_modules\/(buffer|base64-js|ieee754)\//.test(i))).toEqual([]);
    expect(inputs.filter((i) => /node_modules\/vega/.test(i))).toEqual([]);
    const text = readFileSync(built, 'utf8');
    // ASCII only: V8 keeps a one-byte string for it (any other character would double it).
    expect([...text].every((c) => c.charCodeAt(0) < 128)).toBe(true);
    expect(text.startsWith('(function (exports, require, module, __filename, __dirname, __hearsay_import) {"use strict";')).toBe(true);
  });

  it('keeps `hearsay agent` from loading the simulator, cluster/, the chart and the key commands', async () => {
    const result = await build({
      entryPoints: [join(repo, 'src', 'cli', 'commands', 'agent.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      metafile: true,
      external: ['dns-packet', 'vega', 'vega-lite'],
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((i) => i.endsWith('src/agent/agent.ts'))).toBe(true);
    expect(inputs.filter((i) => /src\/(sim|cluster)\/|src\/cli\/commands\/(sim|cluster|keys|keygen)\.ts$/.test(i))).toEqual([]);
  });
});

describe('bin/hearsay.js', () => {
  it('runs the bundle in an installed package, and writes and then reuses the code cache', async () => {
    const pkg = layout();
    const first = await run(pkg.bin, ['version'], pkg.cache);
    expect(first, first.stderr).toMatchObject({ code: 0, stdout: expect.stringMatching(/^hearsay 9\.9\.9-test \(node /) as unknown, stderr: '' });
    const files = cacheFiles(pkg.cache);
    expect(files).toHaveLength(1);
    const file = join(pkg.cache, 'hearsay', files[0] as string);
    const written = readFileSync(file);
    utimesSync(file, new Date(1_000_000), new Date(1_000_000));
    const second = await run(pkg.bin, ['version'], pkg.cache);
    expect(second).toEqual(first);
    // An accepted cache is left alone; one V8 rejects would have been written again.
    expect(statSync(file).mtimeMs).toBe(1_000_000);
    writeFileSync(file, Buffer.from('not a code cache'));
    const third = await run(pkg.bin, ['version'], pkg.cache);
    expect(third).toEqual(first);
    expect(readFileSync(file).toString()).not.toBe('not a code cache');
    expect(readFileSync(file).length).toBeGreaterThan(written.length / 2);
    // A rebuilt bundle gets its own cache, which replaces the old one.
    utimesSync(join(pkg.dir, 'dist', 'cli', 'hearsay.cjs'), new Date(), new Date(Date.now() + 1000));
    await run(pkg.bin, ['version'], pkg.cache);
    expect(cacheFiles(pkg.cache)).toHaveLength(1);
    expect(cacheFiles(pkg.cache)[0]).not.toBe(files[0]);
    // HEARSAY_CODE_CACHE=off neither reads nor writes one.
    const off = layout();
    expect(await run(off.bin, ['version'], off.cache, { HEARSAY_CODE_CACHE: 'off' })).toEqual(first);
    expect(cacheFiles(off.cache)).toEqual([]);
  });

  it('runs an agent from the bundle that answers its API and leaves on SIGTERM', async () => {
    const pkg = layout();
    const child = spawn(process.execPath, [pkg.bin, 'agent', '--name', 'bundled', '--bind', '127.0.0.1:0', '--http', '127.0.0.1:0', '--dns', 'off', '--profile', 'local'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, XDG_CACHE_HOME: pkg.cache },
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const http = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).on('line', (line) => {
          const m = /^hearsay agent bundled listening on \S+ \(http (\S+)\)/.exec(line);
          if (m !== null) resolve(m[1] as string);
        });
        void exit.then((code) => reject(new Error(`the agent exited (${String(code)}) before it was ready: ${stderr}`)));
      });
      const members = await new Promise<{ name: string; status: string }[]>((resolve, reject) => {
        const [host, port] = [http.slice(0, http.lastIndexOf(':')), Number(http.slice(http.lastIndexOf(':') + 1))];
        request({ host, port, path: '/v1/members' }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(JSON.parse(body) as { name: string; status: string }[]));
        })
          .on('error', reject)
          .end();
      });
      expect(members).toMatchObject([{ name: 'bundled', status: 'alive' }]);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exit, stderr).toBe(0);
  });

  it('starts an agent without a key, token, certificate, config file or data dir without loading the builtins only those need', async () => {
    // node:crypto alone is ~1.6 ms of start CPU and 0.7 MB of RSS (bench:light); each of these is
    // loaded on first use. The preload reports Node's own list of loaded builtins at the ready line.
    const pkg = layout();
    const preload = join(pkg.dir, 'modules.cjs');
    writeFileSync(
      preload,
      "const w = process.stdout.write.bind(process.stdout);\nprocess.stdout.write = (c, ...r) => {\n  if (String(c).includes(' listening on ')) process.stderr.write(`MODULES ${JSON.stringify(process.moduleLoadList)}\\n`);\n  return w(c, ...r);\n};\n",
    );
    const child = spawn(process.execPath, ['-r', preload, pkg.bin, 'agent', '--name', 'lean', '--bind', '127.0.0.1:0', '--http', '127.0.0.1:0', '--dns', '127.0.0.1:0', '--profile', 'local'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, XDG_CACHE_HOME: pkg.cache },
    });
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let stderr = '';
    try {
      const loaded = await new Promise<string[]>((resolve, reject) => {
        createInterface({ input: child.stderr }).on('line', (line) => {
          stderr += `${line}\n`;
          if (line.startsWith('MODULES ')) resolve(JSON.parse(line.slice('MODULES '.length)) as string[]);
        });
        void exit.then((code) => reject(new Error(`the agent exited (${String(code)}) before it was ready: ${stderr}`)));
      });
      const builtins = loaded.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
      expect(builtins).toContain('http');
      expect(builtins).toContain('dgram');
      expect(builtins.filter((m) => ['crypto', 'fs/promises', 'dns/promises', 'zlib', 'readline'].includes(m) || m.startsWith('internal/crypto/'))).toEqual([]);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exit, stderr).toBe(0);
  });

  it('imports the optional peers from the bundle as an ES module would (sim --plot without vega says how to add it)', async () => {
    const pkg = layout();
    const result = await run(pkg.bin, ['sim', '--nodes', '5', '--profile', 'local', '--plot', join(pkg.dir, 'c.svg')], pkg.cache);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^hearsay sim: --plot needs the optional packages vega and vega-lite, and vega(-lite)? is not installed: run `npm install vega vega-lite`[^\n]*\n$/);
  });

  describe('in a checkout (src/ present)', () => {
    const source = "export async function main(argv: string[]): Promise<number> {\n  process.stdout.write(`from source: ${argv.join(' ')}\\n`);\n  return 0;\n}\n";

    it('runs the bundle when it is newer than every file under src/', async () => {
      const pkg = layout({ source });
      const old = new Date(Date.now() - 3_600_000);
      utimesSync(join(pkg.dir, 'src', 'cli', 'main.ts'), old, old);
      const result = await run(pkg.bin, ['version'], pkg.cache);
      expect(result, result.stderr).toMatchObject({ code: 0, stdout: expect.stringMatching(/^hearsay 9\.9\.9-test/) as unknown, stderr: '' });
    });

    it('runs the source through tsx when src/ changed since the build, and `hearsay agent` says `npm run build` gives the light agent', async () => {
      const pkg = layout({ source });
      symlinkSync(join(repo, 'node_modules'), join(pkg.dir, 'node_modules'));
      const soon = new Date(Date.now() + 60_000);
      utimesSync(join(pkg.dir, 'src', 'cli', 'main.ts'), soon, soon);
      const other = await run(pkg.bin, ['members', '--json'], pkg.cache);
      expect(other).toEqual({ code: 0, stdout: 'from source: members --json\n', stderr: '' });
      const agent = await run(pkg.bin, ['agent', '--name', 'x'], pkg.cache);
      expect(agent).toMatchObject({ code: 0, stdout: 'from source: agent --name x\n' });
      expect(agent.stderr).toBe('hearsay: running the TypeScript source through tsx (src/ changed since the last build); `npm run build` gives the light agent\n');
      rmSync(join(pkg.dir, 'dist'), { recursive: true });
      const unbuilt = await run(pkg.bin, ['agent'], pkg.cache);
      expect(unbuilt.stderr).toContain('(no build in dist/cli)');
    });

    it('says what to run when neither a fresh build nor tsx is there', async () => {
      const pkg = layout({ source });
      const soon = new Date(Date.now() + 60_000);
      utimesSync(join(pkg.dir, 'src', 'cli', 'main.ts'), soon, soon);
      const result = await run(pkg.bin, ['version'], pkg.cache);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe('hearsay: src/ changed since the last build, and tsx is not installed to run the source: run `npm install` and `npm run build`\n');
    });
  });
});
