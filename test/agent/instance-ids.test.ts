import { describe, expect, it } from 'vitest';
import { instanceIds, seedBytes } from '../../src/agent/instance-ids.js';

describe('instance ids', () => {
  it("have hyperid's url-safe form: a version-4 UUID in base64url, '-', a counter from 0", () => {
    const next = instanceIds();
    const ids = [next(), next(), next()];
    for (const [i, id] of ids.entries()) expect(id).toMatch(new RegExp(`^[A-Za-z0-9_-]{22}-${i}$`));
    const base = (ids[0] as string).slice(0, 22);
    expect(ids.every((id) => id.startsWith(`${base}-`))).toBe(true);
    const uuid = Buffer.from(base, 'base64url');
    expect(uuid).toHaveLength(16);
    expect((uuid[6] as number) >> 4).toBe(4); // version 4
    expect((uuid[8] as number) >> 6).toBe(2); // RFC 4122 variant
  });

  it('differ between generators (each draws its own random base)', () => {
    const bases = new Set(Array.from({ length: 50 }, () => instanceIds()().slice(0, 22)));
    expect(bases.size).toBe(50);
  });

  it('seed bytes are as many random bytes as asked', () => {
    expect(seedBytes(6)).toHaveLength(6);
    const draws = new Set(Array.from({ length: 20 }, () => seedBytes(6).toString('hex')));
    expect(draws.size).toBe(20);
  });
});
