/** Captured io for CLI tests, and a port nobody listens on. */
import type { Io } from '../../src/cli/command.js';

export function capture(): Io & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s), isTTY: false },
    out: () => out,
    err: () => err,
  };
}

export { closedPort } from '../transport/support.js';
