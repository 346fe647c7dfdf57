/**
 * `hearsay keygen`: prints a new random AES-256 key (32 bytes, base64) for --key, HEARSAY_KEY or
 * `hearsay keys install`; with --keyring-file FILE, writes a new keyring file holding it instead
 * (refusing to overwrite an existing file).
 */
import { existsSync } from 'node:fs';
import { generateKey, keyIdOfBase64, Keyring, writeKeyringFile } from '../../security/keyring.js';
import type { Command } from '../command.js';

const flags = {
  'keyring-file': {
    type: 'string',
    placeholder: 'FILE',
    description: 'write a new keyring file holding the new key (mode 0600) instead of printing the key',
  },
  json: { type: 'boolean', description: 'print {key, keyId} (or {keyringFile, keyId}) as JSON' },
} as const;

export const command: Command<typeof flags> = {
  name: 'keygen',
  summary: 'print a new random encryption key (AES-256, base64) for --key or `hearsay keys install`',
  details: 'Keep keys secret: anyone holding one can join the mesh and change its keyrings (see SECURITY.md).',
  flags,
  async run(values, io) {
    const key = generateKey();
    const file = values['keyring-file'];
    if (file === undefined) {
      if (values.json) {
        io.stdout.write(`${JSON.stringify({ key, keyId: keyIdOfBase64(key) }, null, 2)}\n`);
        return 0;
      }
      io.stdout.write(`${key}\n`);
      // Reports (hearsay keys, GET /v1/keys) name keys by this id, never by the key.
      io.stderr.write(`key id ${keyIdOfBase64(key)}\n`);
      return 0;
    }
    if (existsSync(file)) {
      io.stderr.write(`hearsay keygen: ${file} already exists: pick another path, or add a key to a running mesh with \`hearsay keys install\`\n`);
      return 1;
    }
    try {
      await writeKeyringFile(file, Keyring.fromBase64([key]));
    } catch (err) {
      io.stderr.write(`hearsay keygen: cannot write ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}): check the directory exists and is writable\n`);
      return 1;
    }
    if (values.json) io.stdout.write(`${JSON.stringify({ keyringFile: file, keyId: keyIdOfBase64(key) }, null, 2)}\n`);
    else io.stdout.write(`wrote a keyring with one new key (id ${keyIdOfBase64(key)}) to ${file}: start agents with --keyring-file ${file} (copy it to every node)\n`);
    return 0;
  },
};
