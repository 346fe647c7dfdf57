#!/usr/bin/env node
// The `hearsay` command. It runs the CLI bundle, dist/cli/hearsay.cjs (scripts/build-cli.ts), in an
// installed package always, and in a source checkout when the bundle is fresh: newer than every
// file under src/. Otherwise a checkout runs the TypeScript source through tsx (never stale, but
// heavier and slower to start); `hearsay agent` then says so in one line on stderr.
//
// The bundle is compiled with V8's code cache: the first run of a kind (`agent`, or any other
// command) writes what V8 compiled to a file in the user's cache directory
// ($XDG_CACHE_HOME/hearsay or ~/.cache/hearsay, never a shared temp directory: cached code is run
// as is), and later runs skip that compilation. A cache V8 rejects (another Node, other flags) is
// written again; HEARSAY_CODE_CACHE=off runs without one.
//
// This file is CommonJS (bin/package.json says so, in a package that is otherwise ES modules):
// Node starts a CommonJS entry without its ES module loader, which an agent would otherwise pay
// for at every start only to run this one file (bench:light).
'use strict';
const { setFlagsFromString } = require('node:v8');
const { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { homedir } = require('node:os');
const { dirname, join } = require('node:path');
const { pathToFileURL } = require('node:url');
const { Script } = require('node:vm');

// An agent runs with V8's interpreter and baseline compiler only (--max-opt=1): an idle agent has
// no hot code worth optimizing, and the first function TurboFan optimizes maps about 3.5 MB more
// of node's own machine code into the process (RSS of every agent; bench:light). HEARSAY_JIT=full
// keeps the optimizing compiler (an agent serving heavy API traffic). Set before anything runs.
// The young generation keeps its initial size (--semi-space-growth-factor=1, read by V8 each time
// it would grow, so it works set at run time): a start's allocations otherwise grow it from 1 to
// 2-4 MB a semi-space, which V8 gives back only once idle for a while, and at N = 60 that was
// about 1.7 MB of every agent's RSS in bench:light. HEARSAY_JIT=full keeps V8's growth too.
if (process.argv[2] === 'agent' && process.env.HEARSAY_JIT !== 'full') {
  setFlagsFromString('--max-opt=1');
  setFlagsFromString('--semi-space-growth-factor=1');
}

const root = join(__dirname, '..');
const bundle = join(root, 'dist', 'cli', 'hearsay.cjs');
const sourceMain = join(root, 'src', 'cli', 'main.ts');
const argv = process.argv.slice(2);

/**
 * True when some file under `dir` was modified after `than` (ms); stops at the first. One
 * readdir with file types a folder and one stat a file: Node 20's `readdirSync(dir, { recursive:
 * true })` and a stat of every entry took about 11 ms of an agent's start in a checkout, this
 * about 3 (bench:light). Paths are built with template strings, not path.join (a walk that
 * called path.join got hot enough for V8 to optimize it, which maps megabytes more of node's
 * code into every agent).
 */
function anyNewer(dir, than) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory() ? anyNewer(path, than) : statSync(path).mtimeMs > than) return true;
  }
  return false;
}

/** A short stable hash of a string (FNV-1a, 32 bits), for the cache file's name. */
function hash(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

function cacheFile(stat) {
  if (process.env.HEARSAY_CODE_CACHE === 'off') return undefined;
  let home;
  try {
    home = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  } catch {
    return undefined;
  }
  const kind = argv[0] === 'agent' ? 'agent' : 'cli';
  const key = [bundle, stat.size, stat.mtimeMs, process.version, process.arch, kind].join('\0');
  // One file per bundle and kind: a new build's cache replaces the old one (saveCache).
  return join(home, 'hearsay', `${hash(bundle)}-${kind}-${hash(key)}.v8`);
}

/** Writes the code V8 compiled so far (once; failures are ignored: the cache is only a speed-up). */
function saveCache(script, file) {
  let saved = false;
  const save = () => {
    if (saved) return;
    saved = true;
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
      renameSync(tmp, file);
      const prefix = file.slice(dirname(file).length + 1, -'00000000.v8'.length);
      for (const old of readdirSync(dirname(file))) if (old.startsWith(prefix) && old.endsWith('.v8') && join(dirname(file), old) !== file) unlinkSync(join(dirname(file), old));
    } catch {
      // a read-only or full home: run without a cache
    }
  };
  // An agent's start-up, its join-path warm-up (a second after start, src/agent/warm-up.ts) and
  // first seconds of gossip, or all of a short command. Saved after the warm-up, the cache holds
  // the join path too: later agents' warm-ups then cost about 25 ms of CPU rather than 35-40.
  setTimeout(save, argv[0] === 'agent' ? 2500 : 1000).unref();
  process.once('exit', save);
}

/** Runs the bundle and returns its `main`. */
function loadBundle(stat) {
  const file = cacheFile(stat);
  let cachedData;
  if (file !== undefined) {
    try {
      cachedData = readFileSync(file);
    } catch {
      cachedData = undefined;
    }
  }
  const script = new Script(readFileSync(bundle, 'utf8'), {
    filename: bundle,
    ...(cachedData === undefined ? {} : { cachedData }),
  });
  const module = { exports: {} };
  // The last argument is how the bundle imports an ES module (vega for `hearsay sim --plot`): from
  // here, which finds the same node_modules as dist/cli/ would (`import()` works in CommonJS).
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle), (specifier) => import(specifier));
  if (file !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) saveCache(script, file);
  return module.exports.main;
}

function built() {
  try {
    return statSync(bundle);
  } catch {
    return undefined;
  }
}

async function fromSource(why) {
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    process.stderr.write(`hearsay: ${why}, and tsx is not installed to run the source: run \`npm install\` and \`npm run build\`\n`);
    process.exit(1);
  }
  if (argv[0] === 'agent') process.stderr.write(`hearsay: running the TypeScript source through tsx (${why}); \`npm run build\` gives the light agent\n`);
  tsx.register();
  return (await import(pathToFileURL(sourceMain).href)).main;
}

async function run() {
  let main;
  const stat = built();
  if (!existsSync(sourceMain)) {
    if (stat === undefined) {
      process.stderr.write(`hearsay: ${bundle} is missing: reinstall the package (or, in a checkout, run \`npm run build\`)\n`);
      process.exit(1);
    }
    main = loadBundle(stat);
  } else if (stat === undefined) {
    main = await fromSource('no build in dist/cli');
  } else if (anyNewer(join(root, 'src'), stat.mtimeMs)) {
    main = await fromSource('src/ changed since the last build');
  } else {
    main = loadBundle(stat);
  }
  process.exitCode = await main(argv);
}

run().catch((err) => {
  process.stderr.write(`hearsay: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
