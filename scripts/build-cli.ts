/**
 * The `hearsay` command as one file: dist/cli/hearsay.cjs, bundled by esbuild from src/cli/main.ts
 * with its production dependency (dns-packet) inside; Node's builtins and the
 * optional peers vega and vega-lite stay outside. `npm run build` runs it after tsc (which still
 * writes the library, dist/src). bin/hearsay.js runs this file.
 *
 * Why a bundle: an agent from dist/src loads ~150 modules (each resolved, read and compiled on its
 * own) and pino's; one file compiles once, and bin/hearsay.js can keep V8's code cache for it. The
 * file is a classic script holding one function expression `(exports, require, module,
 * __filename, __dirname, __hearsay_import) => ...` in strict mode (the sources are ES modules, which are strict), so
 * that bin/hearsay.js compiles it with vm.Script and its cachedData without copying the source.
 * `import.meta.url` (version.ts, cluster/) becomes the file's URL. Minified in whitespace and syntax
 * only: identifiers stay, so stack traces still name functions. Source comments are dropped, which
 * also keeps the file ASCII (one byte per character in V8's memory, not two).
 *
 *   npm run build            (or: tsx scripts/build-cli.ts [OUTFILE])
 */
import { build, type Metafile, type Plugin } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const DEFAULT_OUTFILE = fileURLToPath(new URL('../dist/cli/hearsay.cjs', import.meta.url));

/**
 * A script compiled with vm.Script cannot run `import()` on Node 20 without a flag (or an
 * experimental-feature warning), and `hearsay sim --plot` imports vega and vega-lite that way
 * (src/sim/plot.ts, the one dynamic import of a package). In the bundle it calls the importer
 * bin/hearsay.js passes in, an ordinary `import()` of its own.
 */
const PLOT_IMPORT = 'const nativeImport: Importer = (specifier) => import(specifier);';
const hostImport: Plugin = {
  name: 'host-import',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]sim[\\/]plot\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes(PLOT_IMPORT)) throw new Error(`${args.path} no longer holds \`${PLOT_IMPORT}\`: update scripts/build-cli.ts`);
      return { contents: text.replace(PLOT_IMPORT, 'const nativeImport: Importer = (specifier) => __hearsay_import(specifier);'), loader: 'ts' };
    });
  },
};

/** Bundles the CLI into `outfile`; resolves with esbuild's metafile (what went in). */
export async function buildCli(outfile: string = DEFAULT_OUTFILE): Promise<Metafile> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    charset: 'ascii',
    external: ['vega', 'vega-lite'],
    plugins: [hostImport],
    define: { 'import.meta.url': '__hearsay_url' },
    banner: { js: '(function (exports, require, module, __filename, __dirname, __hearsay_import) {"use strict";var __hearsay_url = require("node:url").pathToFileURL(__filename).href;' },
    footer: { js: '})' },
    metafile: true,
    logLevel: 'warning',
  });
  return result.metafile;
}

if (process.argv[1]?.endsWith('build-cli.ts') === true) {
  await buildCli(process.argv[2] ?? DEFAULT_OUTFILE);
}
