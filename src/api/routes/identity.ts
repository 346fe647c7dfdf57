/**
 * The identity routes of the API (issue 14.3):
 *
 *   GET /v1/identity/revocations   the CA-signed revocation list in force (404 without one)
 *   PUT /v1/identity/revocations   body: a list as `hearsay ca revoke` writes it → what adopting it did
 *
 * A list put here is checked (the CA's, its signature, a version above the one in force), put in
 * force on this node and then spreads to every node (agent/revocations.ts); operator access, as
 * the key routes.
 */
import type { AgentNode } from '../../agent/types.js';
import { agentCall, API_ERROR_CODES, ApiError } from '../errors.js';
import type { Route } from '../router.js';
import { MAX_REVOCATIONS_BYTES } from '../../identity/revocations.js';

const EXAMPLE = 'the revocations.json `hearsay ca revoke` writes';

export function identityRoutes(agent: Pick<AgentNode, 'revocations' | 'putRevocations'>): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/identity/revocations',
      handler: ({ json }) => {
        const list = agent.revocations;
        if (list === undefined) throw new ApiError(404, API_ERROR_CODES.notFound, 'this agent holds no revocation list: put one with `hearsay ca push` (PUT /v1/identity/revocations)');
        json(200, list);
      },
    },
    {
      method: 'PUT',
      path: '/v1/identity/revocations',
      access: 'operator',
      // A list of a few thousand entries is over the API's usual 64 KiB; the list's own bound.
      maxBodyBytes: MAX_REVOCATIONS_BYTES,
      handler: async ({ body, json }) => {
        const list = await body(true, EXAMPLE);
        json(200, agentCall(() => agent.putRevocations(list)));
      },
    },
  ];
}
