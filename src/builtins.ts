/**
 * Node's builtins an agent may never need, loaded at their first call (process.getBuiltinModule,
 * Node >= 20.16) instead of at start: a default agent then answers its API without node:crypto,
 * fs/promises or dns/promises loaded (bench:light; test/project/cli-bundle.test.ts).
 */
import type * as Crypto from 'node:crypto';
import type * as DnsPromises from 'node:dns/promises';
import type * as FsPromises from 'node:fs/promises';

export const crypto = (): typeof Crypto => process.getBuiltinModule('node:crypto');
export const fsp = (): typeof FsPromises => process.getBuiltinModule('node:fs/promises');
export const dnsPromises = (): typeof DnsPromises => process.getBuiltinModule('node:dns/promises');
