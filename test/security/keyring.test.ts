/**
 * The keyring (src/security/keyring.ts): base64 keys, key ids, the primary and the other keys,
 * and the keyring file (read, and written atomically with owner-only permissions).
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidKeyError, KeyNotInstalledError, KeyringFileError, RemovePrimaryKeyError } from '../../src/security/errors.js';
import { generateKey, keyId, keyIdOfBase64, Keyring, MAX_KEYS, parseKey, readKeyringFile, writeKeyringFile } from '../../src/security/keyring.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'hearsay-keyring-'));
  dirs.push(d);
  return d;
}

/** A deterministic key: 32 bytes of `n`, base64. */
const keyOf = (n: number): string => Buffer.alloc(32, n).toString('base64');
const bytesOf = (n: number): Buffer => Buffer.alloc(32, n);

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

describe('generateKey', () => {
  it('makes 32 random bytes in base64, a different key each time', () => {
    const a = generateKey();
    const b = generateKey();
    expect(a).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a, 'base64')).toHaveLength(32);
    expect(a).not.toBe(b);
  });
});

describe('parseKey', () => {
  it('decodes base64 of 32 bytes, ignoring surrounding whitespace', () => {
    const k = keyOf(7);
    expect(parseKey(k).equals(bytesOf(7))).toBe(true);
    expect(parseKey(`  ${k}\n`).equals(bytesOf(7))).toBe(true);
  });

  const refusals: [string, unknown, RegExp][] = [
    ['an empty string', '', /^--key: the key is empty; /],
    ['only whitespace', ' \t\n', /^--key: the key is empty; /],
    ['a non-string', 42, /^--key: the key is empty; /],
    ['undefined', undefined, /^--key: the key is empty; /],
    ['text that is not base64', 'not base64!', /^--key: the key is not base64; /],
    ['url-safe base64', `${keyOf(1).slice(0, 40)}-_-_`, /^--key: the key is not base64; /],
    ['padding in the middle', `${keyOf(1).slice(0, 20)}=${keyOf(1).slice(21)}`, /^--key: the key is not base64; /],
    ['16 bytes', Buffer.alloc(16, 1).toString('base64'), /^--key: the key decodes to 16 bytes, not 32; /],
    ['33 bytes', Buffer.alloc(33, 1).toString('base64'), /^--key: the key decodes to 33 bytes, not 32; /],
  ];

  it.each(refusals)('refuses %s with an InvalidKeyError that names where it came from and how to make a key', (_what, text, message) => {
    const err = thrown(() => parseKey(text, '--key'));
    expect(err).toBeInstanceOf(InvalidKeyError);
    expect((err as InvalidKeyError).code).toBe('HEARSAY_ERR_INVALID_KEY');
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/a key is 32 random bytes in base64 \(44 characters\): make one with `hearsay keygen`$/);
    if (typeof text === 'string' && text.length >= 20) expect(err.message).not.toContain(text.slice(0, 12)); // key material is never echoed
  });

  it('names the origin "key" when none is given', () => {
    expect(() => parseKey('')).toThrow(/^key: the key is empty/);
  });
});

describe('key ids', () => {
  it('are the first 8 hex digits of the SHA-256 of the key bytes', () => {
    const expected = createHash('sha256').update(bytesOf(9)).digest('hex').slice(0, 8);
    expect(keyId(bytesOf(9))).toBe(expected);
    expect(keyIdOfBase64(keyOf(9))).toBe(expected);
    expect(keyId(bytesOf(9))).not.toBe(keyId(bytesOf(10)));
  });

  it('are "invalid" for a base64 string that is not a key', () => {
    for (const text of ['', 'abc', Buffer.alloc(16).toString('base64'), Buffer.alloc(33).toString('base64')]) {
      expect(keyIdOfBase64(text), text).toBe('invalid');
    }
  });
});

describe('Keyring', () => {
  it('makes the first key the primary and lists every key, the primary first', () => {
    const r = new Keyring([bytesOf(1), bytesOf(2), bytesOf(3)]);
    expect(r.primary.equals(bytesOf(1))).toBe(true);
    expect(r.keys.map((k) => k[0])).toEqual([1, 2, 3]);
    expect(r.toBase64()).toEqual([keyOf(1), keyOf(2), keyOf(3)]);
  });

  it('is made from base64 keys, naming the bad one by its position', () => {
    expect(Keyring.fromBase64([keyOf(1), keyOf(2)]).toBase64()).toEqual([keyOf(1), keyOf(2)]);
    expect(() => Keyring.fromBase64([keyOf(1), 'c2hvcnQ='], '--keyring')).toThrow(/^--keyring #2: the key decodes to 5 bytes, not 32/);
    expect(() => Keyring.fromBase64(['c2hvcnQ='], '--key')).toThrow(/^--key: the key decodes to 5 bytes/);
  });

  it('refuses an empty key list and a key that is not 32 bytes', () => {
    expect(thrown(() => new Keyring([]))).toBeInstanceOf(InvalidKeyError);
    expect(() => new Keyring([])).toThrow(/^keyring: no keys were given/);
    expect(() => new Keyring([bytesOf(1), Buffer.alloc(31)])).toThrow(/^keyring: a key has 31 bytes, not 32/);
  });

  it('drops repeated keys, keeping the first place of each', () => {
    const r = new Keyring([bytesOf(1), bytesOf(2), bytesOf(1), bytesOf(3), bytesOf(2)]);
    expect(r.keys.map((k) => k[0])).toEqual([1, 2, 3]);
  });

  it(`holds at most ${MAX_KEYS} keys, counting a repeated key once`, () => {
    const keys = Array.from({ length: 16 }, (_, i) => bytesOf(i + 1));
    expect(new Keyring([...keys, bytesOf(1)]).keys).toHaveLength(16);
    expect(() => new Keyring([...keys, bytesOf(99)])).toThrow(/^keyring: 17 keys: a keyring holds at most 16/);
  });

  it('refuses to install beyond the limit, saying how to make room; an installed key is still accepted', () => {
    const r = new Keyring(Array.from({ length: 16 }, (_, i) => bytesOf(i + 1)));
    const err = thrown(() => r.install(bytesOf(99)));
    expect(err).toBeInstanceOf(InvalidKeyError);
    expect(err.message).toMatch(/^install: the keyring already holds 16 keys: remove an old key first with `hearsay keys remove KEY`/);
    expect(r.has(bytesOf(99))).toBe(false);
    expect(r.install(bytesOf(5))).toBe(false);
  });

  it('copies the keys it is given: changing the caller’s buffer later changes nothing', () => {
    const first = bytesOf(1);
    const second = bytesOf(2);
    const r = new Keyring([first]);
    r.install(second);
    first.fill(0);
    second.fill(0);
    expect(r.toBase64()).toEqual([keyOf(1), keyOf(2)]);
  });

  it('compares keys by their bytes', () => {
    const r = new Keyring([bytesOf(1)]);
    expect(r.has(Buffer.from(keyOf(1), 'base64'))).toBe(true);
    expect(r.has(new Uint8Array(bytesOf(1)))).toBe(true);
    expect(r.has(bytesOf(2))).toBe(false);
    expect(r.has(Buffer.alloc(16, 1))).toBe(false);
  });

  it('install adds a key after the others, leaving the primary; installing it again changes nothing', () => {
    const r = new Keyring([bytesOf(1)]);
    expect(r.install(bytesOf(2))).toBe(true);
    expect(r.install(bytesOf(2))).toBe(false);
    expect(r.toBase64()).toEqual([keyOf(1), keyOf(2)]);
    expect(r.primary.equals(bytesOf(1))).toBe(true);
  });

  it('use makes an installed key the primary and keeps the others in order', () => {
    const r = new Keyring([bytesOf(1), bytesOf(2), bytesOf(3)]);
    r.use(bytesOf(3));
    expect(r.keys.map((k) => k[0])).toEqual([3, 1, 2]);
    r.use(bytesOf(3));
    expect(r.keys.map((k) => k[0])).toEqual([3, 1, 2]);
  });

  it('refuses to use a key that is not installed, naming it by id', () => {
    const r = new Keyring([bytesOf(1)]);
    const err = thrown(() => r.use(bytesOf(2)));
    expect(err).toBeInstanceOf(KeyNotInstalledError);
    expect(err.message).toBe(`key ${keyId(bytesOf(2))} is not installed on this node: install it first with \`hearsay keys install KEY\``);
    expect(r.toBase64()).toEqual([keyOf(1)]);
  });

  it('refuses to remove the primary key, saying to make another key primary first', () => {
    const r = new Keyring([bytesOf(1), bytesOf(2)]);
    const err = thrown(() => r.remove(bytesOf(1)));
    expect(err).toBeInstanceOf(RemovePrimaryKeyError);
    expect((err as RemovePrimaryKeyError).code).toBe('HEARSAY_ERR_REMOVE_PRIMARY_KEY');
    expect(err.message).toContain(`key ${keyId(bytesOf(1))} is the primary key`);
    expect(err.message).toContain('`hearsay keys use KEY`');
    expect(r.toBase64()).toEqual([keyOf(1), keyOf(2)]);
  });

  it('removes a key that is not the primary; removing one that is not installed changes nothing', () => {
    const r = new Keyring([bytesOf(1), bytesOf(2), bytesOf(3)]);
    expect(r.remove(bytesOf(2))).toBe(true);
    expect(r.remove(bytesOf(2))).toBe(false);
    expect(r.remove(bytesOf(9))).toBe(false);
    expect(r.toBase64()).toEqual([keyOf(1), keyOf(3)]);
  });

  it('tells every listener after each change, and only after a change', () => {
    const r = new Keyring([bytesOf(1)]);
    const seen: string[][] = [];
    let other = 0;
    r.onChange(() => seen.push(r.toBase64()));
    r.onChange(() => other++);
    r.install(bytesOf(2)); // change
    r.install(bytesOf(2)); // none
    r.use(bytesOf(2)); // change
    r.use(bytesOf(2)); // none: already primary
    r.remove(bytesOf(9)); // none
    r.remove(bytesOf(1)); // change
    expect(() => r.remove(bytesOf(2))).toThrow(RemovePrimaryKeyError);
    expect(() => r.use(bytesOf(7))).toThrow(KeyNotInstalledError);
    expect(seen).toEqual([[keyOf(1), keyOf(2)], [keyOf(2), keyOf(1)], [keyOf(2)]]);
    expect(other).toBe(3);
  });
});

describe('readKeyringFile', () => {
  it('reads a JSON array of base64 keys, the primary first', () => {
    const file = join(tempDir(), 'ring.json');
    writeFileSync(file, JSON.stringify([keyOf(2), keyOf(1)]));
    expect(readKeyringFile(file).toBase64()).toEqual([keyOf(2), keyOf(1)]);
  });

  it('refuses a file that cannot be read, naming the path and the error code', () => {
    const file = join(tempDir(), 'missing.json');
    const err = thrown(() => readKeyringFile(file));
    expect(err).toBeInstanceOf(KeyringFileError);
    expect((err as KeyringFileError).code).toBe('HEARSAY_ERR_KEYRING_FILE');
    expect((err as KeyringFileError).path).toBe(file);
    expect(err.message).toMatch(new RegExp(`^keyring file ${file}: cannot be read \\(ENOENT\\); it must be a JSON array of base64 keys, the primary first`));
  });

  it('refuses a file that is not JSON without quoting its text, which may be key material', () => {
    const file = join(tempDir(), 'ring.json');
    const secret = keyOf(5);
    writeFileSync(file, `["${secret}",`);
    const err = thrown(() => readKeyringFile(file));
    expect(err).toBeInstanceOf(KeyringFileError);
    expect(err.message).toMatch(/: is not valid JSON( at position \d+)?: it must be an array of base64 keys, primary first/);
    expect(err.message).not.toContain(secret.slice(0, 12));
  });

  it.each([['{}'], ['[]'], ['"key"'], ['[1]'], [`["${keyOf(1)}", null]`], ['null']])('refuses %s as not a non-empty array of strings', (text) => {
    const file = join(tempDir(), 'ring.json');
    writeFileSync(file, text);
    expect(() => readKeyringFile(file)).toThrow(new RegExp(`^keyring file ${file}: is not a non-empty array of strings`));
  });

  it('refuses a file holding a bad key, saying which one and not what it is', () => {
    const file = join(tempDir(), 'ring.json');
    const bad = Buffer.alloc(20, 3).toString('base64');
    writeFileSync(file, JSON.stringify([keyOf(1), bad]));
    const err = thrown(() => readKeyringFile(file));
    expect(err).toBeInstanceOf(KeyringFileError);
    expect(err.message).toContain(`keyring file ${file} #2: the key decodes to 20 bytes, not 32`);
    expect(err.message).not.toContain(bad.slice(0, 12));
  });

  it(`refuses a file with more than ${MAX_KEYS} keys`, () => {
    const file = join(tempDir(), 'ring.json');
    writeFileSync(file, JSON.stringify(Array.from({ length: 17 }, (_, i) => keyOf(i + 1))));
    expect(() => readKeyringFile(file)).toThrow(/17 keys: a keyring holds at most 16/);
  });
});

describe('writeKeyringFile', () => {
  it('writes the keys as a JSON array, primary first, readable by the owner only', async () => {
    const file = join(tempDir(), 'ring.json');
    await writeKeyringFile(file, new Keyring([bytesOf(2), bytesOf(1)]));
    const text = readFileSync(file, 'utf8');
    expect(JSON.parse(text)).toEqual([keyOf(2), keyOf(1)]);
    expect(text.endsWith('\n')).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readKeyringFile(file).toBase64()).toEqual([keyOf(2), keyOf(1)]);
  });

  it('replaces an existing file, making it owner-only, and leaves no temporary file behind', async () => {
    const dir = tempDir();
    const file = join(dir, 'ring.json');
    writeFileSync(file, JSON.stringify([keyOf(1)]));
    chmodSync(file, 0o644);
    await writeKeyringFile(file, new Keyring([bytesOf(3)]));
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([keyOf(3)]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['ring.json']);
  });

  it('rejects when the directory does not exist', async () => {
    const dir = tempDir();
    await expect(writeKeyringFile(join(dir, 'no', 'ring.json'), new Keyring([bytesOf(1)]))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('rejects when the file cannot be replaced, and leaves no temporary file with the keys behind', async () => {
    const dir = tempDir();
    const target = join(dir, 'ring.json');
    mkdirSync(target); // a directory where the file should go: the final rename fails
    await expect(writeKeyringFile(target, new Keyring([bytesOf(1)]))).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['ring.json']);
    expect(statSync(target).isDirectory()).toBe(true);
  });
});
