/**
 * The state layer's values: per-node versioned key-value state, spread as deltas and repaired by
 * digests (in the manner of chitchat and Cassandra), apart from failure detection.
 *
 * Every node owns one map. Each change (a set or a delete) takes the owner's next version, so a
 * node's state at version v is "the latest entry of every key among the changes numbered <= v".
 * A replica at version v holds exactly that; a delta from version v carries every latest entry
 * numbered above v, in ascending order, so any prefix of it is again a consistent state (the
 * property that lets a delta be cut at a packet budget). A restart that lost the state starts a
 * new, higher generation, which replaces the old one everywhere.
 */

/** One key's latest value at its owner (or a tombstone: the key was deleted at `version`). */
export interface StateEntry {
  readonly key: string;
  /** Empty for a tombstone. */
  readonly value: Uint8Array;
  /** The owner's version at which this value was set (or the key deleted). */
  readonly version: number;
  readonly deleted: boolean;
  /**
   * With identity (issue 14): the owner's certificate fingerprint prefix (8 bytes) and its Ed25519
   * signature (64) over `entrySigningBytes` (wire/state-codec.ts). Absent without identity.
   */
  readonly signature?: Uint8Array;
}

/** What a node holds of one owner's state: enough for a peer to tell what it misses. */
export interface NodeDigest {
  readonly node: string;
  readonly generation: number;
  readonly version: number;
}

/**
 * Changes of one owner's state, above `fromVersion`, in ascending version order. Applied to a
 * replica at a version >= `fromVersion` (same generation), it brings the replica to `toVersion`.
 * With `reset`, the receiver drops what it holds of this owner first (the sender has collected
 * tombstones the receiver has not seen, so a delta could not delete those keys).
 */
export interface NodeDelta {
  readonly node: string;
  readonly generation: number;
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly reset: boolean;
  /** The highest tombstone version the sender has collected (for its own later resets). */
  readonly collectedVersion: number;
  readonly entries: readonly StateEntry[];
}

/** Why a delta was not applied (counted by the caller). */
export type DeltaRefusal =
  /** An older generation than the one held. */
  | 'stale-generation'
  /** It starts above what is held: applying it would leave a gap. */
  | 'gap'
  /** Nothing in it is newer than what is held. */
  | 'nothing-new'
  /** Entries out of order, outside (fromVersion, toVersion], or a repeated key. */
  | 'malformed'
  /** It would take the owner past its entry or byte limit. */
  | 'over-limit';

/** Limits on one owner's state, checked at the owner and by every receiver. */
export interface StateLimits {
  /** Most live (not deleted) entries per node. */
  readonly maxEntries: number;
  /** Most bytes of one entry's key and value together. */
  readonly maxEntryBytes: number;
  /** Most bytes of one node's live entries together. */
  readonly maxNodeBytes: number;
}

export const DEFAULT_STATE_LIMITS: StateLimits = Object.freeze({
  // Three a registered instance (its record, its status, its checks) at the 2,048-instance ceiling.
  maxEntries: 6144,
  maxEntryBytes: 16 * 1024,
  maxNodeBytes: 2 * 1024 * 1024,
});
