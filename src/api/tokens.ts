/**
 * The HTTP API's callers and their scopes (issue 14, point 5). Without tokens every caller on
 * loopback may do everything (today's behaviour); with `--http-token` that one token is the
 * operator's; with `--api-tokens FILE` each token in the file has its own scope:
 *
 *   [
 *     {"name": "billing-deploy", "token": "…32+ characters…", "services": ["billing", "api-*"]},
 *     {"name": "billing-probe", "sha256": "…64 hex digits…", "services": ["billing"], "commandChecks": true},
 *     {"name": "ops", "token": "…", "operator": true}
 *   ]
 *
 * - `services`: names or patterns (`api-*`) whose instances the token may register, deregister
 *   and whose checks it may update; every token may read (lookups, members, events, metrics).
 * - `operator`: everything else too: keys, the CA, join, leave, maintenance, reload, force-leave,
 *   the log monitor, and every service.
 * - `commandChecks`: it may register command checks (they run a program as the agent's user),
 *   still only when the agent runs with --enable-script-checks.
 * - `sha256` instead of `token`: the hex SHA-256 of the token, so the file need not hold it
 *   (`printf %s TOKEN | sha256sum`).
 *
 * Tokens are looked up by their SHA-256 digest, so the time a lookup takes says nothing about how
 * much of a token was right. The file is reread on SIGHUP and when it changes; a bad file is
 * refused whole (the tokens in force stay) with every problem named.
 */
import { HearsayError } from '../errors.js';
import { servicePatternProblem } from '../identity/spiffe.js';
import { MIN_TOKEN_LENGTH } from '../security/options.js';
import { crypto, fsp } from '../builtins.js';



/** Who made a request, and what it may do. */
export interface ApiCaller {
  /** The token's name (for logs and errors); "local" without tokens, "http-token" for --http-token. */
  readonly name: string;
  readonly operator: boolean;
  /** Service names or patterns it may register, deregister and update checks of (`*`: all). */
  readonly services: readonly string[];
  readonly commandChecks: boolean;
}

/** Without any token configured: every loopback caller, as before tokens existed. */
export const LOCAL_CALLER: ApiCaller = Object.freeze({ name: 'local', operator: true, services: Object.freeze(['*']), commandChecks: true });
/** Who asks for a public path (the web view's files): no operator rights, no services. */
export const PUBLIC_CALLER: ApiCaller = Object.freeze({ name: 'public', operator: false, services: Object.freeze([]), commandChecks: false });
/** The --http-token token. */
export const HTTP_TOKEN_CALLER: ApiCaller = Object.freeze({ name: 'http-token', operator: true, services: Object.freeze(['*']), commandChecks: true });

const ENTRY_KEYS = ['name', 'token', 'sha256', 'services', 'operator', 'commandChecks'] as const;
const EXAMPLE = '[{"name": "billing-deploy", "token": "…", "services": ["billing", "api-*"]}, {"name": "ops", "token": "…", "operator": true}]';

export function tokenDigest(token: string): string {
  return crypto().createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The tokens of one file, by digest. */
export class TokenTable {
  private constructor(private readonly byDigest: ReadonlyMap<string, ApiCaller>) {}

  get size(): number {
    return this.byDigest.size;
  }

  /** The caller a presented token is, or undefined for an unknown token. */
  lookup(presented: string): ApiCaller | undefined {
    return this.byDigest.get(tokenDigest(presented));
  }

  /** Parses a tokens file; returns every problem (naming the entry and what to write) or the table. */
  static parse(text: string, where: string): { ok: true; table: TokenTable } | { ok: false; problems: string[] } {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      return { ok: false, problems: [`${where} is not valid JSON: write an array of tokens, e.g. ${EXAMPLE}`] };
    }
    if (!Array.isArray(doc)) return { ok: false, problems: [`${where} must hold a JSON array of tokens, e.g. ${EXAMPLE}`] };
    const problems: string[] = [];
    const byDigest = new Map<string, ApiCaller>();
    const names = new Set<string>();
    doc.forEach((raw: unknown, i: number) => {
      const at = `${where} entry ${i}`;
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
        problems.push(`${at} must be an object such as {"name": "deploy", "token": "…", "services": ["billing"]}`);
        return;
      }
      const e = raw as Record<string, unknown>;
      for (const k of Object.keys(e)) if (!(ENTRY_KEYS as readonly string[]).includes(k)) problems.push(`${at} has the unknown key "${k}": the keys are ${ENTRY_KEYS.join(', ')}`);
      const name = e.name === undefined ? `token ${i}` : e.name;
      if (typeof name !== 'string' || name === '') problems.push(`${at}: "name" must be a non-empty string`);
      else if (names.has(name)) problems.push(`${at}: the name "${name}" is used twice`);
      else names.add(name);
      let digest: string | undefined;
      if ((e.token === undefined) === (e.sha256 === undefined)) problems.push(`${at} needs exactly one of "token" (the token) or "sha256" (its hex SHA-256)`);
      else if (e.token !== undefined) {
        if (typeof e.token !== 'string' || e.token.length < MIN_TOKEN_LENGTH || /\s/.test(e.token)) problems.push(`${at}: "token" must be at least ${MIN_TOKEN_LENGTH} characters without spaces: make one with \`openssl rand -hex 32\``);
        else digest = tokenDigest(e.token);
      } else if (typeof e.sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(e.sha256)) problems.push(`${at}: "sha256" must be 64 hex digits (printf %s TOKEN | sha256sum)`);
      else digest = e.sha256.toLowerCase();
      const operator = e.operator ?? false;
      const commandChecks = e.commandChecks ?? false;
      if (typeof operator !== 'boolean') problems.push(`${at}: "operator" must be true or false`);
      if (typeof commandChecks !== 'boolean') problems.push(`${at}: "commandChecks" must be true or false`);
      let services: string[] = [];
      if (e.services !== undefined) {
        if (!Array.isArray(e.services) || !e.services.every((s) => typeof s === 'string')) problems.push(`${at}: "services" must be an array of service names or patterns, e.g. ["billing", "api-*"]`);
        else {
          services = e.services as string[];
          for (const s of services) {
            const p = servicePatternProblem(s);
            if (p !== undefined) problems.push(`${at}: ${p}`);
          }
        }
      }
      if (operator !== true && services.length === 0 && e.services === undefined) problems.push(`${at} grants nothing but reads: give "services": [...] or "operator": true`);
      if (digest !== undefined) {
        if (byDigest.has(digest)) problems.push(`${at}: the same token appears twice`);
        else byDigest.set(digest, Object.freeze({ name: typeof name === 'string' ? name : `token ${i}`, operator: operator === true, services: Object.freeze(operator === true ? ['*'] : services), commandChecks: commandChecks === true || operator === true }));
      }
    });
    return problems.length > 0 ? { ok: false, problems } : { ok: true, table: new TokenTable(byDigest) };
  }
}

/** A tokens file that cannot be used; `problems` names each mistake. */
export class TokensFileError extends HearsayError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('HEARSAY_ERR_INVALID_TOKENS', `the API tokens file cannot be used (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

/** Reads and parses a tokens file; throws TokensFileError. */
export async function loadTokensFile(path: string): Promise<TokenTable> {
  let text: string;
  try {
    text = await fsp().readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TokensFileError([`--api-tokens ${path} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(err)})`}: give the path of a JSON array of tokens, e.g. ${EXAMPLE}`]);
  }
  const parsed = TokenTable.parse(text, `--api-tokens ${path}`);
  if (!parsed.ok) throw new TokensFileError(parsed.problems);
  return parsed.table;
}
