/**
 * What a `hearsay` subcommand is: its flags and positional arguments (declared, so that one parser
 * checks them all the same way), where it writes, its exit codes and the usage error it may throw.
 * Each subcommand lives in src/cli/commands/<name>.ts and exports `command: Command`.
 */

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

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A command line that cannot be run as given; the message says what to do. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

