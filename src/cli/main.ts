/**
 * The `hearsay` command line: a small hand-written argv parser and a table of subcommands.
 *
 * Each subcommand lives in src/cli/commands/<name>.ts and exports `command: Command`, declaring
 * its flags (and, if it takes any, its positional arguments); this file parses and validates them
 * (so every command reports bad flags the same way: what was wrong, what to do, exit code 2) and
 * loads the command module only when it runs. To add one: write the module, then add a line to
 * COMMANDS below.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where a command writes. `isTTY` on stderr selects the progress style. */
export interface Io {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
}

interface FlagBase {
  /** One line: what the flag does (the default is appended in --help). */
  readonly description: string;
  /** Shown after the flag in --help, e.g. "N". */
  readonly placeholder?: string;
}

export type FlagSpec =
  | (FlagBase & { readonly type: 'boolean' })
  | (FlagBase & {
      readonly type: 'string';
      readonly default?: string;
      /** Returns what is wrong with the value (completing "--flag ..."), or undefined if it is fine. */
      readonly check?: (value: string) => string | undefined;
      /** The flag may be given more than once; its value is the list of values in order (default []). */
      readonly repeatable?: boolean;
    })
  | (FlagBase & { readonly type: 'choice'; readonly choices: readonly string[]; readonly default?: string })
  | (FlagBase & {
      readonly type: 'int' | 'number';
      readonly default?: number;
      /** Inclusive bounds. */
      readonly min?: number;
      readonly max?: number;
      /** Exclusive upper bound (for probabilities). */
      readonly below?: number;
      /** Shown in the error as an example of a good value. */
      readonly example?: string;
    });

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** Parsed flag values: booleans are true/false; repeatable flags a list; others are their value or absent. */
export type FlagValues<F extends FlagSpecs> = {
  readonly [K in keyof F]: F[K] extends { readonly type: 'boolean' }
    ? boolean
    : F[K] extends { readonly repeatable: true }
      ? readonly string[]
      : F[K] extends { readonly type: 'int' | 'number' }
      ? F[K] extends { readonly default: number }
        ? number
        : number | undefined
      : F[K] extends { readonly default: string }
        ? string
        : string | undefined;
};

/** Positional arguments a command takes after (or between) its flags, e.g. `hearsay join ADDR...`. */
export interface ArgsSpec {
  /** Shown in usage, e.g. "ADDR...". */
  readonly placeholder: string;
  /** One line: what the arguments are. */
  readonly description: string;
  /** Fewest arguments accepted. @default 0 */
  readonly min?: number;
  /** Most arguments accepted. @default no limit */
  readonly max?: number;
  /** Returns what is wrong with one argument, or undefined if it is fine. */
  readonly check?: (value: string) => string | undefined;
}

export interface Command<F extends FlagSpecs = FlagSpecs> {
  readonly name: string;
  readonly summary: string;
  /** Paragraphs shown in `hearsay <name> --help` after the flag list. */
  readonly details?: string;
  readonly flags: F;
  /** Positional arguments; a command without this spec rejects any. */
  readonly args?: ArgsSpec;
  /** `args` are the positional arguments (always empty for a command without an ArgsSpec). */
  run(values: FlagValues<F>, io: Io, args: readonly string[]): Promise<number>;
}

interface CommandEntry {
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

/** The subcommands. `summary` is repeated here so that `hearsay --help` loads no command module. */
const COMMANDS: Readonly<Record<string, CommandEntry>> = {
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
  keygen: {
    summary: 'print a new random encryption key (AES-256, base64) for --key or `hearsay keys install`',
    load: async () => (await import('./commands/keygen.js')).command as unknown as Command,
  },
  cluster: {
    summary: 'start N agent processes on 127.0.0.1, converge them, kill/pause/leave some and time it',
    load: async () => (await import('./commands/cluster.js')).command as unknown as Command,
  },
};

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

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

export function commandUsage(command: Command): string {
  const rows: [string, string][] = [];
  for (const [name, spec] of Object.entries(command.flags)) {
    let left = `--${name}`;
    if (spec.type === 'choice') left += ` ${spec.choices.join('|')}`;
    else if (spec.type !== 'boolean') left += ` ${spec.placeholder ?? (spec.type === 'string' ? 'VALUE' : 'N')}`;
    let right = spec.description;
    if ('default' in spec && spec.default !== undefined) right += ` (default ${spec.default})`;
    if (spec.type === 'string' && spec.repeatable === true) right += ' (repeatable)';
    rows.push([left, right]);
  }
  rows.push(['--help, -h', 'show this help']);
  const width = Math.max(...rows.map(([l]) => l.length), command.args?.placeholder.length ?? 0);
  const args = command.args;
  return [
    `usage: hearsay ${command.name} [flags]${args === undefined ? '' : ` ${args.placeholder}`}`,
    '',
    `${command.summary}.`,
    '',
    ...(args === undefined ? [] : ['arguments:', `  ${args.placeholder.padEnd(width)}  ${args.description}`, '']),
    'flags:',
    ...rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`),
    ...(command.details === undefined ? [] : ['', command.details]),
    '',
  ].join('\n');
}

/** A command line that cannot be run as given; the message says what to do. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parses `--name value`, `--name=value` and boolean `--name` against `specs`; throws UsageError. */
export function parseFlags<F extends FlagSpecs>(commandName: string, specs: F, argv: readonly string[]): FlagValues<F> {
  return parseCommandLine(commandName, specs, undefined, argv).values;
}

/**
 * Parses flags as `parseFlags` does, plus positional arguments if `argsSpec` is given (anywhere
 * among the flags, or everything after `--`); throws UsageError.
 */
export function parseCommandLine<F extends FlagSpecs>(
  commandName: string,
  specs: F,
  argsSpec: ArgsSpec | undefined,
  argv: readonly string[],
): { values: FlagValues<F>; args: string[] } {
  const out: Record<string, string | number | boolean | string[] | undefined> = {};
  const args: string[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    out[name] = spec.type === 'boolean' ? false : spec.type === 'string' && spec.repeatable === true ? [] : spec.default;
  }
  for (let k = 0; k < argv.length; k++) {
    const arg = argv[k] as string;
    if (argsSpec !== undefined && arg === '--') {
      args.push(...argv.slice(k + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '--') {
      if (argsSpec !== undefined) {
        args.push(arg);
        continue;
      }
      throw new UsageError(`unexpected argument "${arg}": 'hearsay ${commandName}' takes only --flags`);
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (spec === undefined) {
      const known = Object.keys(specs).map((n) => `--${n}`).join(', ');
      throw new UsageError(`unknown flag --${name} for 'hearsay ${commandName}': known flags are ${known}`);
    }
    if (spec.type === 'boolean') {
      if (eq >= 0) {
        const v = arg.slice(eq + 1);
        if (v !== 'true' && v !== 'false') throw new UsageError(`--${name} takes no value or =true/=false (got "${v}")`);
        out[name] = v === 'true';
      } else {
        out[name] = true;
      }
      continue;
    }
    let raw: string;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else {
      const next = argv[k + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`--${name} needs a value, e.g. ${example(name, spec)}`);
      }
      raw = next;
      k++;
    }
    const value = parseValue(name, spec, raw);
    const list = out[name];
    if (Array.isArray(list)) list.push(value as string);
    else out[name] = value;
  }
  if (argsSpec !== undefined) {
    const min = argsSpec.min ?? 0;
    if (args.length < min) {
      throw new UsageError(
        `'hearsay ${commandName}' needs ${min === 1 ? 'at least one' : `at least ${min}`} ${argsSpec.placeholder} argument${min === 1 ? '' : 's'}: ${argsSpec.description}`,
      );
    }
    if (argsSpec.max !== undefined && args.length > argsSpec.max) {
      throw new UsageError(
        `'hearsay ${commandName}' takes ${argsSpec.max === 1 ? 'one' : `at most ${argsSpec.max}`} ${argsSpec.placeholder} argument${argsSpec.max === 1 ? '' : 's'} (got ${args.length}: ${args.join(' ')}): ${argsSpec.description}`,
      );
    }
    for (const a of args) {
      const problem = argsSpec.check?.(a);
      if (problem !== undefined) throw new UsageError(`argument "${a}" ${problem}`);
    }
  }
  return { values: out as FlagValues<F>, args };
}

function example(name: string, spec: FlagSpec): string {
  switch (spec.type) {
    case 'choice':
      return `--${name} ${spec.choices[0] ?? ''}`;
    case 'int':
    case 'number':
      return `--${name} ${spec.example ?? String(spec.default ?? spec.min ?? 1)}`;
    case 'string':
      return `--${name} ${spec.placeholder ?? 'VALUE'}`;
    case 'boolean':
      return `--${name}`;
  }
}

function parseValue(name: string, spec: Exclude<FlagSpec, { type: 'boolean' }>, raw: string): string | number {
  switch (spec.type) {
    case 'choice':
      if (!spec.choices.includes(raw)) {
        throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')} (got "${raw}")`);
      }
      return raw;
    case 'string': {
      const problem = spec.check?.(raw);
      if (problem !== undefined) throw new UsageError(`--${name} ${problem} (got "${raw}")`);
      return raw;
    }
    case 'int':
    case 'number': {
      const text = raw.replaceAll('_', '');
      const v = text.trim() === '' ? NaN : Number(text);
      const whole = spec.type === 'int';
      const bounds: string[] = [];
      if (spec.min !== undefined) bounds.push(`>= ${spec.min}`);
      if (spec.max !== undefined) bounds.push(`<= ${spec.max}`);
      if (spec.below !== undefined) bounds.push(`< ${spec.below}`);
      const bad =
        !Number.isFinite(v) ||
        (whole && !Number.isSafeInteger(v)) ||
        (spec.min !== undefined && v < spec.min) ||
        (spec.max !== undefined && v > spec.max) ||
        (spec.below !== undefined && v >= spec.below);
      if (bad) {
        const what = `${whole ? 'an integer' : 'a number'}${bounds.length > 0 ? ` ${bounds.join(' and ')}` : ''}`;
        throw new UsageError(`--${name} must be ${what} (got "${raw}"), e.g. ${example(name, spec)}`);
      }
      return v;
    }
  }
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
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (entry === undefined) {
    io.stderr.write(`hearsay: unknown command "${name}"\n\n${usage()}`);
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
