/**
 * Errors of the security layer a user can cause (a bad key, a refused key operation). Each says
 * what was wrong and what to do. Failures a peer causes are never thrown: they are dropped and
 * counted (`security.dropped.<reason>`).
 */
import { HearsayError } from '../errors.js';

/** A key that is not base64 of exactly 32 bytes (AES-256). */
export class InvalidKeyError extends HearsayError {
  constructor(where: string, why: string) {
    super(
      'HEARSAY_ERR_INVALID_KEY',
      `${where}: ${why}; a key is 32 random bytes in base64 (44 characters): make one with \`hearsay keygen\``,
    );
  }
}

/** A key operation names a key this node does not hold (e.g. `use` before `install`). */
export class KeyNotInstalledError extends HearsayError {
  constructor(keyId: string) {
    super('HEARSAY_ERR_KEY_NOT_INSTALLED', `key ${keyId} is not installed on this node: install it first with \`hearsay keys install KEY\``);
  }
}

/** Removing the key that encrypts everything this node sends would cut it off the mesh. */
export class RemovePrimaryKeyError extends HearsayError {
  constructor(keyId: string) {
    super(
      'HEARSAY_ERR_REMOVE_PRIMARY_KEY',
      `key ${keyId} is the primary key (it encrypts what this node sends) and cannot be removed: ` +
        'make another installed key primary first with `hearsay keys use KEY`, then remove this one',
    );
  }
}

/** Key operations need encryption on: an agent started without --key or --keyring-file has no keyring. */
export class EncryptionDisabledError extends HearsayError {
  constructor(what: string) {
    super(
      'HEARSAY_ERR_ENCRYPTION_DISABLED',
      `${what}: this agent runs without encryption, so it has no keyring to change: restart it with --key KEY or --keyring-file FILE`,
    );
  }
}

/** The keyring file could not be read, parsed or written. */
export class KeyringFileError extends HearsayError {
  readonly path: string;
  constructor(path: string, why: string, cause?: unknown) {
    super(
      'HEARSAY_ERR_KEYRING_FILE',
      `keyring file ${path}: ${why}; it must be a JSON array of base64 keys, the primary first, e.g. ["${'A'.repeat(43)}="] (make keys with \`hearsay keygen\`)`,
      cause === undefined ? undefined : { cause },
    );
    this.path = path;
  }
}

/** A mesh-wide `use` or `remove` that would cut some node off; nothing was changed anywhere. */
export class KeyOperationUnsafeError extends HearsayError {
  constructor(message: string) {
    super('HEARSAY_ERR_KEY_OPERATION_UNSAFE', message);
  }
}
