import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderReadme } from '../../scripts/docs.js';

describe("the README's generated sections", () => {
  it('match their sources (run `npm run docs` after changing the counter catalog)', () => {
    const text = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(renderReadme(text)).toBe(text);
  });
});
