/**
 * hearsay's version, read once from the package's own package.json (found upwards from this file,
 * so it works from src/ in a checkout and from dist/src/ in an installed package).
 */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'hearsay' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not there: try the next level up
    }
  }
  return '0.0.0-unknown';
}

/** The package version, e.g. "0.1.0". */
export const VERSION: string = readVersion();
