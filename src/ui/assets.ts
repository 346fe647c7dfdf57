/**
 * The files of the web view (`/ui`): the page and its modules from the package's `ui/` folder, and
 * the libraries it imports (Preact, htm, uPlot) from the package's dependencies. Nothing is fetched
 * from any other host: an installed agent serves them from disk.
 *
 * Found without knowing where this module runs from: the package root is the nearest folder above
 * this file whose package.json is hearsay's and that has `ui/index.html`, so the same code works
 * from `src/` (tsx), from `dist/src/` and from a bundle anywhere inside the package. The libraries
 * are found the way Node finds a dependency of the package root (every node_modules on the way up).
 *
 * Each file is read once, on first request, and kept with its gzip and an ETag (served files never
 * change while the agent runs; a new version is a new process).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crypto } from '../builtins.js';


/** A file the view serves, as it goes on the wire. */
export interface UiAsset {
  readonly type: string;
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly etag: string;
}

/** The libraries, as the page's import map names them (ui/index.html): URL under /ui/vendor/ → package and file in it. */
export const VENDOR_FILES: Readonly<Record<string, { readonly pkg: string; readonly file: string }>> = Object.freeze({
  'preact.mjs': { pkg: 'preact', file: 'dist/preact.mjs' },
  'preact-hooks.mjs': { pkg: 'preact', file: 'hooks/dist/hooks.mjs' },
  'htm.mjs': { pkg: 'htm', file: 'dist/htm.mjs' },
  'uplot.js': { pkg: 'uplot', file: 'dist/uPlot.iife.min.js' },
  'uplot.css': { pkg: 'uplot', file: 'dist/uPlot.min.css' },
});

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** A name the ui/ folder may serve: one plain file name, no path. */
const OWN_FILE = /^[a-z0-9][a-z0-9-]*\.(html|js|css|svg)$/;

/** The folder above `from` that holds hearsay's package.json and ui/index.html; undefined when there is none. */
export function findPackageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && existsSync(join(dir, 'ui', 'index.html'))) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'hearsay') return dir;
      } catch {
        // not a package.json we can read: keep looking
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** The web view's files could not be found (a broken install): says which and what to do. */
export class UiAssetsMissingError extends Error {
  constructor(what: string) {
    super(`the web view cannot be served: ${what}; reinstall hearsay (the package ships ui/ and depends on preact, htm and uplot)`);
  }
}

export class UiAssets {
  private readonly files = new Map<string, string>();
  private readonly cache = new Map<string, UiAsset>();

  /** Lists the files (reads none yet). Throws UiAssetsMissingError when the package is incomplete. */
  constructor(root: string | undefined = findPackageRoot()) {
    if (root === undefined) throw new UiAssetsMissingError('no ui/index.html next to a hearsay package.json above this module');
    const own = join(root, 'ui');
    for (const name of readdirSync(own)) if (OWN_FILE.test(name)) this.files.set(name, join(own, name));
    const require = createRequire(join(root, 'package.json'));
    const dirs = new Map<string, string>();
    for (const [name, { pkg, file }] of Object.entries(VENDOR_FILES)) {
      let dir = dirs.get(pkg);
      if (dir === undefined) {
        dir = (require.resolve.paths(pkg) ?? []).map((p) => join(p, pkg)).find((d) => existsSync(join(d, 'package.json')));
        if (dir === undefined) throw new UiAssetsMissingError(`the package ${pkg} is not installed`);
        dirs.set(pkg, dir);
      }
      const path = join(dir, file);
      if (!existsSync(path)) throw new UiAssetsMissingError(`${pkg} has no ${file} (an unexpected version?)`);
      this.files.set(`vendor/${name}`, path);
    }
  }

  /** Every path below /ui/ this serves (`index.html`, `app.js`, `vendor/preact.mjs`, ...). */
  paths(): string[] {
    return [...this.files.keys()];
  }

  /** The file at `path` below /ui/ (no leading slash); undefined for a path it does not serve. */
  get(path: string): UiAsset | undefined {
    const cached = this.cache.get(path);
    if (cached !== undefined) return cached;
    const file = this.files.get(path);
    if (file === undefined) return undefined;
    const body = readFileSync(file);
    const ext = /\.[a-z]+$/.exec(path)?.[0] ?? '';
    const asset: UiAsset = {
      type: TYPES[ext] ?? 'application/octet-stream',
      body,
      gzip: process.getBuiltinModule('node:zlib').gzipSync(body, { level: 9 }), // node:zlib with the first file served, not at start
      etag: `"${crypto().createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    };
    this.cache.set(path, asset);
    return asset;
  }
}
