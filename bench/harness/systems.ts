/**
 * The two systems the harness runs, each as a driver: how to spawn one agent on given loopback
 * ports and how to talk to it over one persistent connection (hearsay: HTTP keep-alive; Serf: its
 * RPC protocol). Everything else (the scenario, the observer, the statistics) is shared, so both
 * are measured by the same code.
 *
 * Statuses are reported in hearsay's words: Serf's `failed` is `dead`; Serf's `leaving` stays
 * `leaving` (hearsay has none); Serf has no `suspect` (memberlist keeps suspicion to itself).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KeepAliveJsonClient } from './http-client.js';
import { SerfRpcClient } from './serf-rpc.js';

export type SystemName = 'hearsay' | 'serf';
export const SYSTEMS: readonly SystemName[] = ['hearsay', 'serf'];

/** One agent's API over one persistent connection. */
export interface AgentApi {
  /** Name → status in hearsay's words. */
  members(): Promise<Map<string, string>>;
  /** Joins through the gossip address `seed`; resolves with how many were joined. */
  join(seed: string): Promise<number>;
  leave(): Promise<void>;
  /** Connections opened so far (more than 1 means the agent closed an idle one). */
  connections(): number;
  close(): void;
}

export interface SystemDriver {
  readonly name: SystemName;
  /** Starts one agent with its gossip (UDP and TCP) and API ports on 127.0.0.1. */
  spawn(name: string, gossipPort: number, apiPort: number): ChildProcess;
  /** Opens a connection to the API and asks it once; rejects while the agent is not up. */
  connect(apiPort: number): Promise<AgentApi>;
  /** What the driver runs, for the output. */
  readonly describe: string;
}

const HOST = '127.0.0.1';

/** The environment without HEARSAY_* (a developer's settings must not change the agents). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HEARSAY_')) env[k] = v;
  return env;
}

/** The API once it has answered a member-list call; closed and rejected when it does not. */
async function askedOnce(api: AgentApi): Promise<AgentApi> {
  try {
    await api.members();
    return api;
  } catch (err) {
    api.close();
    throw err;
  }
}

export const DEFAULT_HEARSAY_ENTRY = fileURLToPath(new URL('../../bin/hearsay.js', import.meta.url));

/**
 * hearsay as a user runs it: `node bin/hearsay.js agent ... --profile lan`, DNS off (Serf has no
 * DNS interface, and N agents on one host would need N DNS ports).
 */
export function hearsayDriver(entry: string = DEFAULT_HEARSAY_ENTRY, extraArgs: readonly string[] = []): SystemDriver {
  return {
    name: 'hearsay',
    describe: `node ${entry} agent --profile lan --dns off${extraArgs.length > 0 ? ` ${extraArgs.join(' ')}` : ''}`,
    spawn(name, gossipPort, apiPort) {
      const args = [entry, 'agent', '--name', name, '--bind', `${HOST}:${gossipPort}`, '--http', `${HOST}:${apiPort}`, '--dns', 'off', '--profile', 'lan', ...extraArgs];
      return spawn(process.execPath, args, { stdio: 'ignore', env: cleanEnv() });
    },
    async connect(apiPort) {
      const http = new KeepAliveJsonClient(HOST, apiPort);
      return askedOnce({
        members: async () => new Map((await http.get<{ name: string; status: string }[]>('/v1/members')).map((r) => [r.name, r.status])),
        join: async (seed) => (await http.post<{ joined: number }>('/v1/join', { addrs: [seed] })).joined,
        leave: async () => {
          await http.post('/v1/leave', {});
        },
        connections: () => http.connections,
        close: () => http.close(),
      });
    },
  };
}

/** Serf (Debian's `serf`) with its default lan profile, logs at its default level. */
export function serfDriver(binary = 'serf'): SystemDriver {
  return {
    name: 'serf',
    describe: `${binary} agent -profile=lan`,
    spawn(name, gossipPort, apiPort) {
      const args = ['agent', `-node=${name}`, `-bind=${HOST}:${gossipPort}`, `-rpc-addr=${HOST}:${apiPort}`, '-profile=lan'];
      return spawn(binary, args, { stdio: 'ignore', env: cleanEnv() });
    },
    async connect(apiPort) {
      const rpc = await SerfRpcClient.connect(HOST, apiPort);
      return askedOnce({
        members: async () => {
          const m = await rpc.members();
          for (const [k, v] of m) if (v === 'failed') m.set(k, 'dead');
          return m;
        },
        join: (seed) => rpc.join([seed]),
        leave: () => rpc.leave(),
        connections: () => 1,
        close: () => rpc.close(),
      });
    },
  };
}
