import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: process.cwd() });

async function problems(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

describe('the layering lint rule', () => {
  it.each([
    ['src/membership/x.ts', "import { createSocket } from 'node:dgram';\nexport const s = createSocket;\n", 'no-restricted-imports'],
    ['src/wire/x.ts', "import { readFileSync } from 'fs';\nexport const r = readFileSync;\n", 'no-restricted-imports'],
    ['src/registry/x.ts', 'export const t = Date.now();\n', 'no-restricted-properties'],
    ['src/membership/x.ts', 'export const r = Math.random();\n', 'no-restricted-properties'],
    ['src/membership/x.ts', 'export const p = performance.now();\n', 'no-restricted-globals'],
    ['src/membership/x.ts', 'setTimeout(() => undefined, 1);\n', 'no-restricted-globals'],
    ['src/membership/x.ts', "import { World } from '../sim/world.js';\nexport const w = World;\n", 'no-restricted-imports'],
  ])('rejects I/O, clocks and randomness in the pure layer (%s)', async (file, code, rule) => {
    const found = await problems(code, file);
    expect(found.some((p) => p.startsWith(rule))).toBe(true);
  });

  it('allows the same code in the runtime layers', async () => {
    const found = await problems('export const t = Date.now() + Math.random();\n', 'src/sim/x.ts');
    expect(found).toEqual([]);
  });
});
