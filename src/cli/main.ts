/**
 * The `hearsay` command line: the table of subcommands and the entry point. Each subcommand lives in
 * src/cli/commands/<name>.ts and exports `command: Command` (command.ts); parser.ts checks its flags
 * and arguments; this file loads the command module only when it runs. To add one: write the
 * module, then add a line to COMMANDS below.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, type Command, type FlagSpecs, type FlagValues, type Io } from './command.js';
import { commandUsage, parseCommandLine } from './parser.js';
import { didYouMean } from '../util/suggest.js';

export interface CommandEntry {
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

/** The subcommands. `summary` is repeated here so that `hearsay --help` loads no command module. */
const versionCommand = async (): Promise<Command> => (await import('./commands/version.js')).command as unknown as Command;

export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  sim: {
    summary: 'simulate a cluster on a virtual network and report how fast joins, crashes and leaves spread',
    load: async () => (await import('./commands/sim.js')).command as unknown as Command,
  },
  agent: {
    summary: 'run a hearsay agent: join the mesh over UDP/TCP and serve the local HTTP API',
    load: async () => (await import('./commands/agent.js')).command as unknown as Command,
  },
  members: {
    summary: "list the members a running agent knows, with their status (asks the agent's HTTP API)",
    load: async () => (await import('./commands/members.js')).command as unknown as Command,
  },
  join: {
    summary: 'make a running agent join the mesh through one or more HOST:PORT seeds',
    load: async () => (await import('./commands/join.js')).command as unknown as Command,
  },
  leave: {
    summary: 'make a running agent leave the mesh gracefully and exit',
    load: async () => (await import('./commands/leave.js')).command as unknown as Command,
  },
  register: {
    summary: 'register a service instance with a running agent (its checks run in the agent)',
    load: async () => (await import('./commands/register.js')).command as unknown as Command,
  },
  deregister: {
    summary: 'deregister a service instance from a running agent',
    load: async () => (await import('./commands/deregister.js')).command as unknown as Command,
  },
  services: {
    summary: 'list the services in the mesh with their instance counts',
    load: async () => (await import('./commands/services.js')).command as unknown as Command,
  },
  lookup: {
    summary: 'look up the healthy instances of a service',
    load: async () => (await import('./commands/lookup.js')).command as unknown as Command,
  },
  watch: {
    summary: 'print the instances of a service, then every change, until interrupted',
    load: async () => (await import('./commands/watch.js')).command as unknown as Command,
  },
  keys: {
    summary: 'list, install, use (make primary) or remove encryption keys on every member of the mesh',
    load: async () => (await import('./commands/keys.js')).command as unknown as Command,
  },
  ca: {
    summary: 'an offline certificate authority for node identities: init, issue, revoke, push, inspect',
    load: async () => (await import('./commands/ca.js')).command as unknown as Command,
  },
  keygen: {
    summary: 'print a new random encryption key (AES-256, base64) for --key or `hearsay keys install`',
    load: async () => (await import('./commands/keygen.js')).command as unknown as Command,
  },
  cluster: {
    summary: 'start N agent processes on 127.0.0.1, converge them, kill/pause/leave some and time it',
    load: async () => (await import('./commands/cluster.js')).command as unknown as Command,
  },
  monitor: {
    summary: "stream a running agent's log, as it happens, until interrupted",
    load: async () => (await import('./commands/monitor.js')).command as unknown as Command,
  },
  reload: {
    summary: 'make a running agent reread its config file: services, checks, tags and log level (and its certificate and API tokens files)',
    load: async () => (await import('./commands/reload.js')).command as unknown as Command,
  },
  'force-leave': {
    summary: 'remove a failed (dead) member from every view now, instead of waiting for its tombstone to expire',
    load: async () => (await import('./commands/force-leave.js')).command as unknown as Command,
  },
  check: {
    summary: "report a TTL check's result: pass, warn or fail",
    load: async () => (await import('./commands/check.js')).command as unknown as Command,
  },
  maint: {
    summary: 'take this node (or one instance) out of lookups for maintenance, and put it back',
    load: async () => (await import('./commands/maint.js')).command as unknown as Command,
  },
  ui: {
    summary: "print (or --open) the URL of a running agent's web view",
    load: async () => (await import('./commands/ui.js')).command as unknown as Command,
  },
  version: { summary: "print hearsay's version (also --version)", load: versionCommand },
};

function usage(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length));
  const lines = names.map((n) => `  ${n.padEnd(width)}  ${(COMMANDS[n] as CommandEntry).summary}`);
  return [
    'usage: hearsay <command> [flags]',
    '',
    'hearsay is a gossip-based service discovery mesh (SWIM + Lifeguard).',
    '',
    'commands:',
    ...lines,
    '',
    "run 'hearsay <command> --help' for a command's flags",
    '',
  ].join('\n');
}

/** Runs the command line `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: readonly string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(usage());
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return EXIT_OK;
  }
  if (name === '--version' || name === '-v' || name === '-version') return (await versionCommand()).run({ json: rest.includes('--json') } as unknown as FlagValues<FlagSpecs>, io, []);
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (entry === undefined) {
    io.stderr.write(`hearsay: unknown command "${name}"${didYouMean(name, Object.keys(COMMANDS))}\n\n${usage()}`);
    return EXIT_USAGE;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(commandUsage(command));
    return EXIT_OK;
  }
  let values: FlagValues<FlagSpecs>;
  let args: readonly string[];
  try {
    ({ values, args } = parseCommandLine(command.name, command.flags, command.args, rest));
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`hearsay ${command.name}: ${err.message}\nrun 'hearsay ${command.name} --help' for usage\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  try {
    return await command.run(values, io, args);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`hearsay ${command.name}: ${err.message}\nrun 'hearsay ${command.name} --help' for usage\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`hearsay: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = EXIT_FAILURE;
    },
  );
}
