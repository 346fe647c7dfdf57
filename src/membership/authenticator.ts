/**
 * Who said what (issue 14): the interface through which the core signs the records it authors and
 * verifies the ones it receives, injected by the runtime (identity/authenticator.ts holds the
 * Ed25519 implementation the agent wires). The core stays pure: it hands bytes to `sign` and
 * `verify` and never sees a key, a certificate's contents or a clock.
 *
 * A record is signed by its author: an alive and a leave by the node they are about, a suspect or
 * dead by its accuser (`from`). Without an authenticator the core behaves as it always did and adds
 * no byte to the wire.
 */

/** Why a signed (or unsigned) record was dropped, counted as `identity.dropped.<reason>`. */
export const IDENTITY_DROP_REASONS = [
  /** Identity enforced, and the record carried no signature. */
  'identity-unsigned',
  /** The fingerprint names no certificate this node holds (it asks the sender for it). */
  'unknown-cert',
  /** A certificate that is not of the CA, not valid now, or malformed. */
  'bad-cert',
  /** A certificate the CA's revocation list names. */
  'revoked',
  /** The certificate is valid, but for another node than the record's author. */
  'cert-name-mismatch',
  /** The signature does not verify. */
  'bad-signature',
  /** A state entry naming a service its owner's certificate does not allow. */
  'service-not-allowed',
] as const;
export type IdentityDropReason = (typeof IDENTITY_DROP_REASONS)[number];

/** What `verify` says of a signed record. */
export type VerifyOutcome = 'ok' | Exclude<IdentityDropReason, 'identity-unsigned' | 'service-not-allowed'>;

/** What `addCertificate` says of a certificate a peer sent. */
export type CertOutcome = 'new' | 'known' | 'bad-cert' | 'revoked';

/**
 * The transition, as encryption's (`--encrypt-transition`): `send-unsigned` verifies signed
 * records and accepts unsigned ones but signs nothing (step 1: not every node understands signed
 * records yet); `accept-unsigned` signs and still accepts unsigned records (step 2); `off` signs and
 * drops unsigned records (identity enforced).
 */
export const IDENTITY_TRANSITIONS = ['off', 'send-unsigned', 'accept-unsigned'] as const;
export type IdentityTransition = (typeof IDENTITY_TRANSITIONS)[number];

export interface RecordAuthenticator {
  /** The first 8 bytes of this node's certificate's SHA-256. */
  readonly fingerprint: Uint8Array;
  /** This node's certificate (DER), sent in push-pulls and on request. */
  readonly certificate: Uint8Array;
  /** The 64-byte signature of `bytes` (an encoded message) by this node's key. */
  sign(bytes: Uint8Array): Uint8Array;
  /** Whether `signature` over `bytes` is `author`'s, by the certificate `fingerprint` names. */
  verify(author: string, fingerprint: Uint8Array, signature: Uint8Array, bytes: Uint8Array): VerifyOutcome;
  /** The certificate (DER) `fingerprint` names, if this node holds it. */
  certificateOf(fingerprint: Uint8Array): Uint8Array | undefined;
  /** Checks a peer's certificate against the CA and caches it by fingerprint. */
  addCertificate(der: Uint8Array): CertOutcome;
  /** Every certificate held (this node's included), for a join's push-pull. */
  certificates(): Uint8Array[];
  /**
   * A state entry's signature (`verify`'s checks, `author` its owner), and whether the owner's
   * certificate allows the service the entry names, if it names one.
   */
  verifyEntry(owner: string, fingerprint: Uint8Array, signature: Uint8Array, bytes: Uint8Array, key: string, value: Uint8Array | null): VerifyOutcome | 'service-not-allowed';
}

export interface IdentityConfig {
  readonly authenticator: RecordAuthenticator;
  /** @default 'off' (identity enforced) */
  readonly transition?: IdentityTransition;
}

/** Bytes a signed wrapper adds to the message it carries: header, code, two bins. */
export const SIGNED_OVERHEAD_BYTES = 1 + 1 + 2 + 8 + 2 + 64;

const COUNTERS = [
  /** Records this node signed. */
  'signed',
  /** Signed records received whose signature held (cached or not). */
  'verified',
  /** Unsigned records accepted during a transition. */
  'unsignedAccepted',
  'certRequestsSent',
  'certsSent',
  'certsLearned',
  ...IDENTITY_DROP_REASONS.map((r) => `dropped.${r}` as const),
] as const;
export type IdentityCounterName = (typeof COUNTERS)[number];
export type IdentityCounters = Record<IdentityCounterName, number>;
export const IDENTITY_COUNTER_NAMES: readonly IdentityCounterName[] = COUNTERS;

export function newIdentityCounters(): IdentityCounters {
  const c = {} as IdentityCounters;
  for (const k of COUNTERS) c[k] = 0;
  return c;
}
