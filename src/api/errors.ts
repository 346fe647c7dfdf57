/**
 * The HTTP API's errors: one ApiError (status, stable code, message that says what to do, extra
 * headers), the API's own codes, and the one mapping from an agent's HearsayError to a status.
 */
import { HearsayError } from '../errors.js';

/** A request refused with this status and the JSON body {error, code}. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>>;
  constructor(status: number, code: string, message: string, headers: Readonly<Record<string, string>> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** The API's stable error codes (the agent's own HearsayError codes pass through unchanged). */
export const API_ERROR_CODES = {
  notFound: 'HEARSAY_ERR_NOT_FOUND',
  methodNotAllowed: 'HEARSAY_ERR_METHOD_NOT_ALLOWED',
  bodyTooLarge: 'HEARSAY_ERR_BODY_TOO_LARGE',
  unsupportedMediaType: 'HEARSAY_ERR_UNSUPPORTED_MEDIA_TYPE',
  badJson: 'HEARSAY_ERR_BAD_JSON',
  invalidRequest: 'HEARSAY_ERR_INVALID_REQUEST',
  forbiddenOrigin: 'HEARSAY_ERR_FORBIDDEN_ORIGIN',
  forbiddenHost: 'HEARSAY_ERR_FORBIDDEN_HOST',
  unauthorized: 'HEARSAY_ERR_UNAUTHORIZED',
  rateLimited: 'HEARSAY_ERR_RATE_LIMITED',
  tooManyStreams: 'HEARSAY_ERR_TOO_MANY_STREAMS',
  tooManyQueries: 'HEARSAY_ERR_TOO_MANY_QUERIES',
  noInstance: 'HEARSAY_ERR_NO_INSTANCE',
  shuttingDown: 'HEARSAY_ERR_SHUTTING_DOWN',
  leaveFailed: 'HEARSAY_ERR_LEAVE_FAILED',
  internal: 'HEARSAY_ERR_INTERNAL',
} as const;

/** HearsayError codes whose status is not 400 (invalid input) or 500 (anything else). */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  // Not in a state to do that.
  HEARSAY_ERR_NOT_RUNNING: 409,
  HEARSAY_ERR_AGENT_CLOSED: 409,
  HEARSAY_ERR_NOT_STARTED: 409,
  HEARSAY_ERR_ENCRYPTION_DISABLED: 409,
  HEARSAY_ERR_REMOVE_PRIMARY_KEY: 409,
  HEARSAY_ERR_KEY_NOT_INSTALLED: 409,
  HEARSAY_ERR_KEY_OPERATION_UNSAFE: 409,
  HEARSAY_ERR_MEMBER_ALIVE: 409,
  HEARSAY_ERR_IDENTITY_DISABLED: 409,
  HEARSAY_ERR_REVOCATIONS_NOT_NEWER: 409,
  // Nothing by that id here.
  HEARSAY_ERR_UNKNOWN_SERVICE: 404,
  HEARSAY_ERR_UNKNOWN_CHECK: 404,
  HEARSAY_ERR_UNKNOWN_MEMBER: 404,
  // What the caller sent cannot be taken.
  HEARSAY_ERR_SERVICE_TOO_LARGE: 400,
  HEARSAY_ERR_SERVICE_LIMIT: 400,
  HEARSAY_ERR_STATE_LIMIT: 400,
  HEARSAY_ERR_STATE_TOO_LARGE: 400,
  // Not allowed by this node's certificate.
  HEARSAY_ERR_SERVICE_NOT_ALLOWED: 403,
  // A peer (not this agent, not the caller) failed.
  HEARSAY_ERR_JOIN_FAILED: 502,
};

/** The HTTP status for an error the agent threw: the table above, 400 for HEARSAY_ERR_INVALID_*, else 500. */
export function statusOf(err: HearsayError): number {
  return STATUS_BY_CODE[err.code] ?? (err.code.startsWith('HEARSAY_ERR_INVALID') ? 400 : 500);
}

/** Any thrown value as the ApiError the API answers with. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HearsayError) return new ApiError(statusOf(err), err.code, err.message);
  return new ApiError(500, API_ERROR_CODES.internal, `internal error: ${(err as Error)?.message ?? String(err)}; see the agent's log`);
}

/** agentCall() for an operation that resolves later. */
export async function agentCallAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof HearsayError ? toApiError(err) : err;
  }
}

/** Runs `fn`, turning an agent's HearsayError into the matching ApiError. */
export function agentCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw err instanceof HearsayError ? toApiError(err) : err;
  }
}
