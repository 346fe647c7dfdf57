/**
 * Fresh instance ids and the agent's random seed, without loading node:crypto at start.
 *
 * node:crypto costs an agent about 1.6 ms of CPU and 0.7 MB of RSS to load (bench:light), and an
 * agent without a key, an API token or a certificate needs it for nothing but these few random
 * bytes. So the seed comes from /dev/urandom where there is one (one 6-byte read), and node:crypto
 * is loaded only where there is not, or on the first instance id (a registration without an id).
 *
 * An id has hyperid's url-safe form, which ids had when they came from hyperid: the 16 bytes of a
 * version-4 UUID in base64url (22 characters), '-', then a counter from 0, rebased on a fresh UUID
 * when the counter reaches 2^31 - 1.
 */
import { closeSync, openSync, readSync } from 'node:fs';

const MAX_COUNT = 2 ** 31 - 1;

/** `n` random bytes: /dev/urandom, else node:crypto's randomBytes. */
export function seedBytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  try {
    const fd = openSync('/dev/urandom', 'r');
    try {
      if (readSync(fd, out, 0, n, null) === n) return out;
    } finally {
      closeSync(fd);
    }
  } catch {
    // no /dev/urandom (Windows): below
  }
  return process.getBuiltinModule('node:crypto').randomBytes(n);
}

/** The base of a run of ids: a version-4 UUID's bytes in base64url, then '-'. */
function base(): string {
  const uuid = process.getBuiltinModule('node:crypto').randomBytes(16);
  uuid[6] = ((uuid[6] as number) & 0x0f) | 0x40;
  uuid[8] = ((uuid[8] as number) & 0x3f) | 0x80;
  return `${uuid.toString('base64url')}-`;
}

/** A generator of ids unique within this process and, by their 122 random bits, across the mesh. */
export function instanceIds(): () => string {
  let prefix: string | undefined;
  let count = 0;
  return () => {
    if (prefix === undefined || count === MAX_COUNT) {
      prefix = base();
      count = 0;
    }
    return `${prefix}${count++}`;
  };
}
