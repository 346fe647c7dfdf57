#!/usr/bin/env node
// The `hearsay` command. In a source checkout (src/ present and tsx installed) it runs the
// TypeScript source through tsx, so it is never stale; an installed package runs the build in dist/.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
const built = new URL('../dist/src/cli/main.js', import.meta.url);
let cli;
let tsx = null;
if (existsSync(source)) {
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    tsx = null;
  }
}
if (tsx !== null) {
  tsx.register();
  cli = await import(source.href);
} else if (existsSync(built)) {
  cli = await import(built.href);
} else {
  process.stderr.write('hearsay: no build found: run `npm run build` (it writes dist/)\n');
  process.exit(1);
}
process.exitCode = await cli.main(process.argv.slice(2));
