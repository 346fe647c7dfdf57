/** `hearsay version` (and `hearsay --version`): this CLI's version, the Node.js it runs on and the wire protocol. */
import { PROTOCOL_VERSION } from '../../wire/codec.js';
import { VERSION } from '../../version.js';
import type { Command } from '../command.js';

const flags = { json: { type: 'boolean', description: 'print {version, node, protocol} as JSON' } } as const;

export const command: Command<typeof flags> = {
  name: 'version',
  summary: "print hearsay's version (also --version)",
  details: "A running agent reports its own version in GET /v1/agent/self (Hearsay.version) and the hearsay_info metric's version label.",
  flags,
  run(values, io) {
    const info = { version: VERSION, node: process.versions.node, protocol: PROTOCOL_VERSION };
    io.stdout.write(values.json ? `${JSON.stringify(info, null, 2)}\n` : `hearsay ${VERSION} (node ${info.node}, protocol ${PROTOCOL_VERSION})\n`);
    return Promise.resolve(0);
  },
};
