/**
 * Debian's Chromium, driven headless by playwright-core (which downloads no browser of its own).
 * .ci/deps installs the package; without it the browser tests skip, except under CI=true, where
 * they fail: CI must run them.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where the browser is: $HEARSAY_CHROMIUM, else Debian's /usr/bin/chromium; undefined when neither exists. */
export function chromiumPath(): string | undefined {
  const env = process.env['HEARSAY_CHROMIUM'];
  if (env !== undefined && env !== '') return existsSync(env) ? env : undefined;
  return existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined;
}

export const CHROMIUM = chromiumPath();
if (CHROMIUM === undefined) {
  if (process.env['CI'] === 'true') throw new Error('CI must have Chromium (Debian package chromium, installed by .ci/deps) for the web view tests');
  console.warn('skipping the web view browser tests: no Chromium (apt-get install chromium, or set HEARSAY_CHROMIUM to a Chromium binary)');
}

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM as string, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}
