/**
 * GET /v1/instances: every service instance in this agent's view, of every name and status
 * (instances on suspect nodes included, none on dead or left ones), in one answer, with the
 * registry's overall index as X-Hearsay-Index. What a view of the whole mesh starts from (the web
 * view), rather than one GET /v1/services/:name per name; `service-change` events then say which
 * names to read again.
 */
import type { AgentServices } from '../../agent/types.js';
import type { Route } from '../router.js';

export function instanceRoutes(agent: Pick<AgentServices, 'services' | 'lookup' | 'servicesIndex'>): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/instances',
      handler: ({ json }) => {
        const index = agent.servicesIndex();
        json(200, agent.services().flatMap(({ name }) => agent.lookup(name, { status: 'any' })), { 'x-hearsay-index': String(index) });
      },
    },
  ];
}
