/**
 * Bounds that `decodePacket` enforces on untrusted input. Anything beyond a bound makes the whole
 * packet invalid; nothing is truncated or partially accepted.
 */
export interface DecodeLimits {
  /**
   * Largest packet accepted, in bytes, checked before any decoding so a packet can never make the
   * decoder allocate more than about this much. Pass the datagram budget (about 1400) for UDP and
   * keep the default for push-pull streams.
   * @default 33554432 (32 MiB)
   */
  maxPacketBytes: number;
  /**
   * Most member records in one push-pull message ('too-many-members' beyond it).
   * @default 100000
   */
  maxMembers: number;
  /**
   * Most messages in one (compound) packet ('too-many-messages' beyond it).
   * @default 256
   */
  maxMessages: number;
  /**
   * Longest node name (ping target/source, alive/suspect/dead node and from, push-pull source and
   * member names), in UTF-8 bytes. Names must also be non-empty.
   * @default 256
   */
  maxNameBytes: number;
  /**
   * Longest address host (IPv4, IPv6 or DNS name), in UTF-8 bytes. Hosts must also be non-empty.
   * @default 256
   */
  maxHostBytes: number;
  /**
   * Most tags (key/value pairs) in one member state.
   * @default 64
   */
  maxTags: number;
  /**
   * Longest tag key, in UTF-8 bytes.
   * @default 128
   */
  maxTagKeyBytes: number;
  /**
   * Longest tag value, in UTF-8 bytes.
   * @default 1024
   */
  maxTagValueBytes: number;
  /**
   * Largest opaque member-state payload (the service registry's instances), in bytes.
   * @default 65536
   */
  maxPayloadBytes: number;
}

/** The limits `decodePacket` uses for every field not given explicitly. */
export const DEFAULT_DECODE_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxPacketBytes: 32 * 1024 * 1024,
  maxMembers: 100_000,
  maxMessages: 256,
  maxNameBytes: 256,
  maxHostBytes: 256,
  maxTags: 64,
  maxTagKeyBytes: 128,
  maxTagValueBytes: 1024,
  maxPayloadBytes: 65_536,
});
