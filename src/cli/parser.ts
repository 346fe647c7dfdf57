/**
 * The command-line parser: `--name value`, `--name=value`, boolean `--name` and positional
 * arguments checked against a command's declaration, and the `--help` text made from it. Every
 * command reports a bad flag the same way: what was wrong, what to do (exit code 2).
 */
import { didYouMean, suggest } from '../util/suggest.js';
import { UsageError, type ArgsSpec, type Command, type FlagSpec, type FlagSpecs, type FlagValues } from './command.js';

/** The flag a one-dash spelling most likely meant, if one is close. */
function suggestFlag(flag: string, specs: FlagSpecs): string | undefined {
  return suggest(flag, Object.keys(specs), 1)[0];
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
    if (/^-[A-Za-z][\w-]+(=.*)?$/.test(arg) && !arg.startsWith('--')) {
      // Consul and Serf spell flags with one dash (-join=10.0.0.1); hearsay with two.
      const eq = arg.indexOf('=');
      const flag = eq < 0 ? arg.slice(1) : arg.slice(1, eq);
      const known = Object.hasOwn(specs, flag) ? flag : suggestFlag(flag, specs);
      const written = `--${known ?? flag}${eq < 0 ? '' : arg.slice(eq)}`;
      throw new UsageError(`"${arg}": hearsay's flags take two dashes: write ${written}${known === undefined ? ` (and 'hearsay ${commandName} --help' lists the flags)` : ''}`);
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
      const close = didYouMean(name, Object.keys(specs), (n) => `--${n}`);
      const known = Object.keys(specs).map((n) => `--${n}`).join(', ');
      throw new UsageError(`unknown flag --${name} for 'hearsay ${commandName}'${close}: known flags are ${known}`);
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

