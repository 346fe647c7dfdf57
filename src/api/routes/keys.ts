/**
 * The key routes of the API (security/key-manager.ts does the work):
 *
 *   GET  /v1/keys          → report of `list`
 *   POST /v1/keys/install  body {"key": "BASE64"} → report
 *   POST /v1/keys/use      body {"key": "BASE64"} → report
 *   POST /v1/keys/remove   body {"key": "BASE64"} → report
 *
 * A report is {op, nodes, responded, failures: {node: why}, keys: {key: nodes}, primaryKeys: {key: nodes}}.
 */
import type { KeyOp, KeyOpReport } from '../../security/key-manager.js';
import { ApiError, toApiError } from '../errors.js';
import type { Route } from '../router.js';
import type { KeyOps } from '../context.js';
import { objectBody } from '../http-io.js';

const EXAMPLE = '{"key": "BASE64 KEY"} (make one with `hearsay keygen`)';

/** Validates the body and runs the operation; throws ApiError. */
export async function runKeyRequest(keys: KeyOps | undefined, op: KeyOp, body: unknown): Promise<KeyOpReport> {
  if (keys === undefined) {
    throw new ApiError(409, 'HEARSAY_ERR_ENCRYPTION_DISABLED', 'this agent has no keyring: restart it with --key KEY or --keyring-file FILE');
  }
  let key: string | undefined;
  if (op !== 'list') {
    const k = objectBody(body, ['key'], EXAMPLE).key;
    if (typeof k !== 'string') throw new ApiError(400, 'HEARSAY_ERR_INVALID_REQUEST', `"key" must be a string: send ${EXAMPLE}`);
    key = k;
  }
  try {
    return await keys.run(op, key);
  } catch (err) {
    throw toApiError(err);
  }
}

export function keyRoutes(keys: KeyOps | undefined): Route[] {
  const op =
    (name: KeyOp): Route['handler'] =>
    async ({ body, json }) =>
      json(200, await runKeyRequest(keys, name, name === 'list' ? undefined : await body(true, '{"key": "BASE64 KEY"}')));
  return [
    { method: 'GET', path: '/v1/keys', handler: op('list'), access: 'operator' },
    { method: 'POST', path: '/v1/keys/install', handler: op('install') },
    { method: 'POST', path: '/v1/keys/use', handler: op('use') },
    { method: 'POST', path: '/v1/keys/remove', handler: op('remove') },
  ];
}
