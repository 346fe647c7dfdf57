/**
 * `hearsay agent`'s identity and API tokens (kept apart from agent.ts so that it changes by a few
 * lines): the certificate files (--ca, --cert, --cert-key, --revocations) loaded and checked before
 * the agent is made, the --api-tokens file, and both reread on SIGHUP and when their files change,
 * keeping what is in force when the new files are refused.
 */
import type { Logger } from '../../log/logger.js';
import type { AgentConfig } from '../../agent/config.js';
import type { Agent } from '../../agent/types.js';
import { loadTokensFile, TokensFileError, type TokenTable } from '../../api/tokens.js';
import { loadIdentity, type NodeIdentity } from '../../identity/identity.js';
import { IDENTITY_WATCH_INTERVAL_MS, IdentityWatch, watchFiles, type RenewalOutcome } from '../../identity/watch.js';

/** What the files give at start. Throws IdentityError or TokensFileError (the agent exits 2). */
export async function loadStartIdentity(config: AgentConfig): Promise<{ identity?: NodeIdentity; tokens?: TokenTable }> {
  const identity = config.identityFiles === undefined ? undefined : await loadIdentity(config.identityFiles, config.name);
  const tokens = config.apiTokensFile === undefined ? undefined : await loadTokensFile(config.apiTokensFile);
  return { ...(identity === undefined ? {} : { identity }), ...(tokens === undefined ? {} : { tokens }) };
}

/** What a reload did to the identity and the tokens. */
export interface IdentityReload {
  readonly identity?: RenewalOutcome['outcome'];
  readonly apiTokens?: number | 'refused';
}

/** Keeps the agent's identity and the API's tokens current while it runs. */
export class IdentityRuntime {
  private readonly watch: IdentityWatch | undefined;
  private table: TokenTable | undefined;
  private stopTokens: (() => void) | null = null;

  constructor(
    private readonly config: AgentConfig,
    agent: Agent,
    private readonly log: Logger,
    tokens: TokenTable | undefined,
  ) {
    this.table = tokens;
    this.watch =
      config.identityFiles === undefined
        ? undefined
        : new IdentityWatch({ files: config.identityFiles, current: () => agent.identity, apply: (next) => agent.setIdentity(next), log });
  }

  /** The tokens in force, for the HTTP server (undefined: no --api-tokens). */
  readonly tokens = (): TokenTable | undefined => this.table;

  /** The HTTP server's `tokens` option: only with --api-tokens. */
  httpOptions(): { tokens?: () => TokenTable | undefined } {
    return this.config.apiTokensFile === undefined ? {} : { tokens: this.tokens };
  }

  counters(): Readonly<Record<string, number>> {
    return this.watch === undefined ? {} : { ...this.watch.counters };
  }

  start(): void {
    this.watch?.start();
    const file = this.config.apiTokensFile;
    if (file !== undefined) this.stopTokens ??= watchFiles([file], IDENTITY_WATCH_INTERVAL_MS, async () => void (await this.reloadTokens('the tokens file changed')));
  }

  stop(): void {
    this.watch?.stop();
    this.stopTokens?.();
    this.stopTokens = null;
  }

  /** SIGHUP and POST /v1/agent/reload: both files again. */
  async reload(): Promise<IdentityReload> {
    const identity = this.watch === undefined ? undefined : (await this.watch.reload('reload')).outcome;
    const apiTokens = this.config.apiTokensFile === undefined ? undefined : await this.reloadTokens('reload');
    return { ...(identity === undefined ? {} : { identity }), ...(apiTokens === undefined ? {} : { apiTokens }) };
  }

  private async reloadTokens(why: string): Promise<number | 'refused'> {
    try {
      this.table = await loadTokensFile(this.config.apiTokensFile as string);
      this.log.info({ why, tokens: this.table.size }, 'API tokens reloaded');
      return this.table.size;
    } catch (err) {
      if (!(err instanceof TokensFileError)) throw err;
      this.log.error({ why, problems: err.problems }, `kept the API tokens in force: ${err.message}`);
      return 'refused';
    }
  }
}
