/**
 * The agent's side of revocation lists spreading through the mesh (identity/revocation-spread.ts
 * does the announcing and fetching): how a newer list is put in force, from whichever source (a
 * peer, PUT /v1/identity/revocations, the --revocations file reloaded), and kept across restarts.
 *
 * Adopting a list (version above the one in force, the CA's, its signature holding; never a
 * rollback): the authenticator refuses every certificate it names from then on; this node's
 * announcement entry says the new version; the list is written (temp file, rename) to the
 * --revocations file, or else `revocations.json` in the data dir; every member all of whose
 * certificates are now revoked is marked dead by this node (its services leave the lookups, and
 * nothing it signs is taken again); and, should this node's own certificate be revoked, an error
 * says what to do.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { HearsayError } from '../errors.js';
import type { Ed25519Authenticator } from '../identity/authenticator.js';
import { IdentityError, type NodeIdentity } from '../identity/identity.js';
import { REVOCATIONS_KEY, RevocationSpread, type RevocationCounterName, type RevocationSpreadOptions } from '../identity/revocation-spread.js';
import { parseRevocations, revocationOf, RevocationListError, type RevocationList } from '../identity/revocations.js';
import type { Logger } from '../log/logger.js';
import type { MembershipEvent, MemberView } from '../membership/types.js';
import type { Address } from '../wire/messages.js';
import { REVOCATIONS_FILE, SnapshotWriter } from './data-dir.js';


/** What PUT /v1/identity/revocations (agent.putRevocations) did. */
export interface RevocationAdoption {
  readonly version: number;
  /** The version in force before. */
  readonly previous: number;
  /** Entries in the list. */
  readonly revoked: number;
  /** Members removed from this node's view because their certificates are revoked. */
  readonly removed: readonly string[];
  /** Whether this node's own certificate is among the revoked. */
  readonly self: boolean;
}

/** Where an adopted list is written: the --revocations file, else the data dir's; undefined: nowhere. */
export function revocationsPath(file: string | undefined, dataDir: string | undefined): string | undefined {
  return file ?? (dataDir === undefined ? undefined : join(dataDir, REVOCATIONS_FILE));
}

/**
 * The identity with the list a previous run adopted into the data dir, when that one is newer than
 * the identity's. Throws IdentityError when that list is damaged or revokes this node's certificate.
 */
export function withPersistedRevocations(identity: NodeIdentity, dataDir: string | undefined): NodeIdentity {
  if (dataDir === undefined || identity.caCertificate === undefined) return identity;
  const path = join(dataDir, REVOCATIONS_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return identity;
  }
  let list: RevocationList;
  try {
    list = parseRevocations(text, path, identity.caCertificate.publicKey, identity.caCertificate.fingerprint256);
  } catch (err) {
    if (err instanceof RevocationListError) throw new IdentityError('revocations', `${err.message} (the list a previous run adopted from the mesh; remove the file to start without it)`);
    throw err;
  }
  if (list.version <= (identity.revocationsVersion ?? 0)) return identity;
  const entry = revocationOf(list, identity.serial, identity.fingerprint);
  if (entry !== undefined) {
    throw new IdentityError('revoked', `this node's certificate (serial ${identity.serial}) is revoked by the revocation list version ${list.version} in ${path} (at ${entry.revokedAt}${entry.reason === undefined ? '' : `: ${entry.reason}`}): issue it a new certificate (\`hearsay ca issue --node ${identity.node}\`) and start it with that one`);
  }
  return { ...identity, revocations: list, revocationsVersion: list.version };
}

export interface RevocationHost {
  readonly name: string;
  readonly log: Logger;
  readonly authenticator: Ed25519Authenticator;
  identity(): NodeIdentity;
  /** Replaces the identity's list (the watch and /v1/agent/self read it there). */
  setList(list: RevocationList): void;
  /** Sets this node's announcement entry. */
  announce(value: Uint8Array): void;
  members(): readonly MemberView[];
  /** The announcement entry this node holds of `node`, if any. */
  announcementOf(node: string): Uint8Array | undefined;
  /** Marks `name` dead in the view (Membership.revoke). */
  revoke(name: string): void;
  readonly fetch: RevocationSpreadOptions['fetch'];
  after(ms: number, fn: () => void): () => void;
  random(): number;
  /** Monotonic ms. */
  now(): number;
  /** Where adopted lists are written, if anywhere. */
  readonly path: string | undefined;
  readonly jitterMs?: number;
}

export class RevocationRuntime {
  readonly spread: RevocationSpread;
  private readonly writer: SnapshotWriter | null;
  private warnedNoPath = false;

  constructor(private readonly h: RevocationHost) {
    const ca = h.identity().caCertificate;
    if (ca === undefined) throw new Error('RevocationRuntime needs an identity checked against a CA');
    this.writer = h.path === undefined ? null : new SnapshotWriter(dirname(h.path), basename(h.path));
    this.spread = new RevocationSpread({
      ca,
      current: () => h.identity().revocations,
      adopt: (list, from) => void this.adopt(list, `peer ${from}`, true),
      fetch: h.fetch,
      random: h.random,
      now: h.now,
      after: h.after,
      log: h.log,
      ...(h.jitterMs === undefined ? {} : { jitterMs: h.jitterMs }),
    });
  }

  get counters(): Readonly<Record<RevocationCounterName, number>> {
    return this.spread.counters;
  }

  /** The announcement entry this node starts with. */
  startEntry(): { key: string; value: Uint8Array } {
    return { key: REVOCATIONS_KEY, value: this.spread.announcement() };
  }

  /** A list an operator gave (PUT /v1/identity/revocations). Throws HearsayError with what to do. */
  put(body: unknown): RevocationAdoption {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const checked = this.spread.check(Buffer.from(text, 'utf8'), 'the revocation list');
    if (!checked.ok) {
      if (checked.reason === 'older') {
        throw new HearsayError('HEARSAY_ERR_REVOCATIONS_NOT_NEWER', `${checked.message}: a list spreads only when its version is above every node's; give the newest list \`hearsay ca revoke\` wrote`);
      }
      throw new IdentityError('revocations', checked.message);
    }
    return this.adopt(checked.list, 'the API', true);
  }

  /**
   * Puts a checked list (version above the one in force) in force. `persist`: write it (a list
   * read from the --revocations file is there already).
   */
  adopt(list: RevocationList, from: string, persist: boolean): RevocationAdoption {
    const h = this.h;
    const previous = h.identity().revocationsVersion ?? 0;
    h.authenticator.setRevocations(list);
    h.setList(list);
    h.announce(this.spread.announcement());
    this.spread.counters['identity.revocations.adopted']++;
    const removed: string[] = [];
    const revokedNodes = h.authenticator.revokedNodes();
    for (const m of h.members()) {
      if (m.name === h.name || !revokedNodes.has(m.name) || (m.status !== 'alive' && m.status !== 'suspect')) continue;
      h.revoke(m.name);
      removed.push(m.name);
      this.spread.onMemberGone(m.name);
    }
    h.log.info({ version: list.version, previous, from, revoked: list.revoked.length, removed }, `revocation list version ${list.version} in force (from ${from})${removed.length === 0 ? '' : `: removed ${removed.join(', ')} from the view`}`);
    const id = h.identity();
    const own = revocationOf(list, id.serial, id.fingerprint);
    if (own !== undefined) {
      h.log.error(
        { version: list.version, serial: id.serial, fingerprint: id.fingerprint, revokedAt: own.revokedAt, reason: own.reason },
        `this node's certificate (serial ${id.serial}) is revoked by the CA's revocation list version ${list.version}${own.reason === undefined ? '' : ` (${own.reason})`}: every node holding the list refuses its records, so it is out of the mesh; issue it a new certificate (\`hearsay ca issue --node ${h.name}\`) and put it in the --cert and --cert-key files (the agent takes it without a restart), or stop this node`,
      );
    }
    if (persist) this.persist(list);
    return { version: list.version, previous, revoked: list.revoked.length, removed, self: own !== undefined };
  }

  /** The registry's events, read for announcements and for members that come and go. */
  onEvent(event: MembershipEvent): void {
    switch (event.type) {
      case 'state-update':
        for (const e of event.changed) {
          if (e.key !== REVOCATIONS_KEY) continue;
          const m = event.member;
          const live = m !== undefined && (m.status === 'alive' || m.status === 'suspect');
          this.spread.onAnnouncement(event.node, live ? addrOf(m) : undefined, e.deleted ? null : e.value);
        }
        break;
      case 'member-join':
      case 'member-alive': {
        const value = this.h.announcementOf(event.member.name);
        if (value !== undefined) this.spread.onAnnouncement(event.member.name, addrOf(event.member), value);
        break;
      }
      case 'member-dead':
      case 'member-leave':
      case 'member-reap':
        this.spread.onMemberGone(event.member.name);
        break;
      default:
    }
  }

  close(): void {
    this.spread.close();
  }

  private persist(list: RevocationList): void {
    if (this.writer === null) {
      if (!this.warnedNoPath) this.h.log.warn({ version: list.version }, 'the revocation list in force is kept in memory only (no --revocations file and no data dir): a restart goes back to the list it starts with until a peer gives it this one again');
      this.warnedNoPath = true;
      return;
    }
    const path = this.h.path as string;
    this.writer.write(list).catch((err: unknown) => this.h.log.error({ err, path }, `could not save the revocation list version ${list.version} to ${path}: it holds until restart only (fix the file's directory or permissions)`));
  }
}

function addrOf(m: MemberView): Address {
  return { host: m.host, port: m.port };
}
