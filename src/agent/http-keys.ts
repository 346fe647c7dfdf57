/**
 * The key routes of the HTTP API (security/key-manager.ts does the work):
 *
 *   GET  /v1/keys          → report of `list`
 *   POST /v1/keys/install  body {"key": "BASE64"} → report
 *   POST /v1/keys/use      body {"key": "BASE64"} → report
 *   POST /v1/keys/remove   body {"key": "BASE64"} → report
 *
 * A report is {op, nodes, responded, failures: {node: why}, keys: {key: nodes}, primaryKeys: {key: nodes}}.
 */
import { HearsayError } from '../errors.js';
import type { KeyOp, KeyOpReport } from '../security/key-manager.js';
import { ApiError } from './http-guard.js';

/** What the routes need from the agent: its key manager (HearsayAgent.keyManager). */
export interface KeyOps {
  run(op: KeyOp, key?: string): Promise<KeyOpReport>;
}

const CONFLICTS = new Set(['HEARSAY_ERR_ENCRYPTION_DISABLED', 'HEARSAY_ERR_REMOVE_PRIMARY_KEY', 'HEARSAY_ERR_KEY_NOT_INSTALLED', 'HEARSAY_ERR_KEY_OPERATION_UNSAFE']);

/** Validates the body and runs the operation; throws ApiError. */
export async function runKeyRequest(keys: KeyOps | undefined, op: KeyOp, body: unknown): Promise<KeyOpReport> {
  if (keys === undefined) {
    throw new ApiError(409, 'HEARSAY_ERR_ENCRYPTION_DISABLED', 'this agent has no keyring: restart it with --key KEY or --keyring-file FILE');
  }
  let key: string | undefined;
  if (op !== 'list') {
    const example = `send {"key": "BASE64 KEY"} (make one with \`hearsay keygen\`)`;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ApiError(400, 'HEARSAY_ERR_INVALID_REQUEST', `the body must be a JSON object: ${example}`);
    }
    const extra = Object.keys(body).filter((k) => k !== 'key');
    if (extra.length > 0) throw new ApiError(400, 'HEARSAY_ERR_INVALID_REQUEST', `unknown field ${extra.map((k) => `"${k}"`).join(', ')}: ${example}`);
    const k = (body as { key?: unknown }).key;
    if (typeof k !== 'string') throw new ApiError(400, 'HEARSAY_ERR_INVALID_REQUEST', `"key" must be a string: ${example}`);
    key = k;
  }
  try {
    return await keys.run(op, key);
  } catch (err) {
    if (err instanceof HearsayError) {
      throw new ApiError(CONFLICTS.has(err.code) ? 409 : err.code === 'HEARSAY_ERR_INVALID_KEY' ? 400 : 500, err.code, err.message);
    }
    throw err;
  }
}
