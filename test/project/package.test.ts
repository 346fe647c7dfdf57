/**
 * What the published package promises, checked from the sources (.ci/pack-check checks the packed
 * tarball itself, installed in a scratch project).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const pkg = JSON.parse(read('package.json')) as {
  license: string;
  homepage: string;
  repository: { type: string; url: string };
  files: string[];
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  exports: Record<string, unknown>;
};

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('the package', () => {
  it('is MIT with a LICENSE file, and says where it lives', () => {
    expect(pkg.license).toBe('MIT');
    const license = read('LICENSE');
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) 2026 the hearsay authors\n/);
    expect(pkg.homepage).toBe('https://github.com/hearsay-mesh/hearsay');
    expect(pkg.repository).toEqual({ type: 'git', url: 'git+https://github.com/hearsay-mesh/hearsay.git' });
  });

  it('runs nothing when installed: no install-time scripts (the build runs before packing)', () => {
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) expect(pkg.scripts[hook]).toBeUndefined();
    expect(pkg.scripts.prepack).toContain('npm run -s build');
  });

  it('has no production dependency with an install script or a native add-on (msgpackr brought msgpackr-extract)', () => {
    // htm, preact and uplot are served to the browser by the web view (src/ui/assets.ts), never imported in Node.
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['dns-packet', 'htm', 'preact', 'uplot']);
    for (const name of Object.keys(pkg.dependencies)) {
      const dep = JSON.parse(read(`node_modules/${name}/package.json`)) as { scripts?: Record<string, string>; optionalDependencies?: object; gypfile?: boolean };
      for (const hook of ['preinstall', 'install', 'postinstall']) expect(dep.scripts?.[hook], `${name} ${hook}`).toBeUndefined();
      expect(dep.optionalDependencies, name).toBeUndefined();
      expect(existsSync(join(root, 'node_modules', name, 'binding.gyp')), `${name} has a binding.gyp (npm would run node-gyp)`).toBe(false);
    }
    for (const file of sources('src')) expect(read(file), file).not.toMatch(/from '(msgpackr|preact|htm|uplot)/);
  });

  it('needs vega and vega-lite only for --plot: optional peers, loaded by dynamic import alone', () => {
    for (const name of ['vega', 'vega-lite']) {
      expect(pkg.dependencies[name]).toBeUndefined();
      expect(pkg.peerDependencies[name]).toBeDefined();
      expect(pkg.peerDependenciesMeta[name]).toEqual({ optional: true });
      expect(pkg.devDependencies[name]).toBeDefined(); // the tests draw charts
    }
    for (const file of sources('src')) {
      const text = read(file);
      // a type-only import is erased; any other static import would load vega with the module
      for (const m of text.matchAll(/^import (type )?[^;]*from '(vega|vega-lite)';/gm)) expect(m[1], `${file}: ${m[0]}`).toBe('type ');
    }
  });

  it('ships no source maps (their sources are not shipped) and the examples the README names', () => {
    const build = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: Record<string, unknown> };
    expect(build.compilerOptions.sourceMap).toBe(false);
    expect(build.compilerOptions.declarationMap).toBe(false);
    expect(pkg.files).toContain('!dist/**/*.map');
    expect(pkg.files).toContain('examples');
    expect(pkg.files).not.toContain('src');
    const readme = read('README.md');
    for (const m of readme.matchAll(/`(examples\/[\w.-]+\.ts)`/g)) {
      const example = read(m[1]!);
      // an example imports the package by name, so that it works where the package is installed
      expect(example, m[1]).toMatch(/from 'hearsay';/);
      expect(example, m[1]).not.toMatch(/from '\.\.\/src\//);
    }
    for (const doc of readme.matchAll(/\]\(([A-Z]+\.md)\)/g)) expect(pkg.files, doc[1]).toContain(doc[1]);
    // The pages under docs/ the README links are shipped with it.
    const docs = [...readme.matchAll(/\]\((docs\/[\w-]+\.md)\)/g)].map((m) => m[1]!);
    expect(docs).toContain('docs/from-consul.md');
    for (const doc of docs) {
      expect(pkg.files, doc).toContain('docs');
      expect(() => read(doc), doc).not.toThrow();
    }
  });

  it('is checked as packed by CI', () => {
    expect(read('.ci/run').trimEnd().split('\n').at(-1)).toBe('.ci/pack-check');
  });
});
