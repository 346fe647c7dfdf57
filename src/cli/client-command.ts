/**
 * The one shape of every command that talks to a running agent: it takes `--http` (and
 * $HEARSAY_HTTP_ADDR) and `--json`, calls the API through one client, prints either its text or the
 * JSON, and reports a failure the same way (exit code 1; a usage error stays exit code 2).
 */
import type { Address } from '../wire/messages.js';
import { UsageError, type Command, type FlagSpecs, type FlagValues, type Io } from './command.js';
import { callAgent, httpFlag, reportClientError, resolveHttpAddress, type CallOptions } from './http-client.js';

export const CLIENT_FLAGS = {
  json: { type: 'boolean', description: "print the API's JSON instead of text" },
  http: httpFlag,
} as const;

export type ClientFlags = typeof CLIENT_FLAGS;

/** The agent's API as a command sees it. */
export interface AgentClient {
  readonly address: Address;
  call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, options?: CallOptions): Promise<unknown>;
}

/** What a command prints: `text`, or `json` with --json; or an exit code when it printed itself. */
export type ClientResult = { readonly json: unknown; readonly text: string; readonly exitCode?: number } | number;

export interface ClientCommandSpec<F extends FlagSpecs> extends Omit<Command<F>, 'run' | 'flags'> {
  /** The command's own flags; --json and --http are added. */
  readonly flags: F;
  run(client: AgentClient, values: FlagValues<F & ClientFlags>, args: readonly string[], io: Io): Promise<ClientResult>;
}

export function clientCommand<F extends FlagSpecs>(spec: ClientCommandSpec<F>): Command<F & ClientFlags> {
  const flags = { ...spec.flags, json: spec.flags.json ?? CLIENT_FLAGS.json, http: CLIENT_FLAGS.http } as unknown as F & ClientFlags;
  return {
    ...spec,
    flags,
    async run(values, io, args) {
      const address = resolveHttpAddress(values.http as string | undefined);
      const client: AgentClient = { address, call: (method, path, options) => callAgent(address, method, path, options) };
      try {
        const result = await spec.run(client, values, args, io);
        if (typeof result === 'number') return result;
        io.stdout.write(values.json ? `${JSON.stringify(result.json, null, 2)}\n` : result.text);
        return result.exitCode ?? 0;
      } catch (err) {
        if (err instanceof UsageError) throw err;
        return reportClientError(spec.name, err, io);
      }
    },
  };
}
