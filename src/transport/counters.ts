/**
 * Transport counters: packets and bytes in and out by channel, connections, timeouts and dropped
 * packets by reason. Every name exists from the start (a dashboard sees zeros, not gaps).
 */

export const DROP_REASONS = [
  /** A stream frame announced more than maxStreamBytes; the connection was cut. */
  'frame-too-large',
  /** A stream packet to send was larger than maxStreamBytes; not sent. */
  'send-too-large',
  /** A connection did not deliver its whole message within the read timeout; cut. */
  'read-timeout',
  /** A dial did not connect within the connect timeout. */
  'connect-timeout',
  /** A dial failed (refused, unreachable, name not found, reset). */
  'connect-failed',
  /** A reply for a connection that had already closed. */
  'connection-closed',
  /** The UDP socket reported an error sending a datagram. */
  'send-error',
  /** A datagram larger than UDP allows. */
  'datagram-too-large',
  /** A send after close(). */
  'closed',
  /** An inbound connection over maxInboundConnections; closed at once. */
  'connection-limit',
  /** An inbound connection that sent more than maxConnectionBytes; cut. */
  'connection-bytes',
  /** A dial over maxOutboundConnections; not made. */
  'dial-limit',
  /** An inbound connection over maxInboundPerSource from one address; closed at once. */
  'source-limit',
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

const NAMES = [
  'transport.datagram.packetsIn',
  'transport.datagram.bytesIn',
  'transport.datagram.packetsOut',
  'transport.datagram.bytesOut',
  'transport.stream.packetsIn',
  'transport.stream.bytesIn',
  'transport.stream.packetsOut',
  'transport.stream.bytesOut',
  'transport.stream.connectionsIn',
  'transport.stream.connectionsOut',
  'transport.stream.connectFailures',
  'transport.stream.connectTimeouts',
  'transport.stream.readTimeouts',
  ...DROP_REASONS.map((r) => `transport.dropped.${r}` as const),
] as const;

export type TransportCounterName = (typeof NAMES)[number];

export class TransportCounters {
  readonly values: Record<TransportCounterName, number>;
  /** Connections open right now (a gauge, not a counter). */
  openConnections = 0;

  constructor() {
    const values = {} as Record<TransportCounterName, number>;
    for (const n of NAMES) values[n] = 0;
    this.values = values;
  }

  add(name: TransportCounterName, by = 1): void {
    this.values[name] += by;
  }

  drop(reason: DropReason): void {
    this.values[`transport.dropped.${reason}`]++;
  }

  snapshot(): Record<string, number> {
    return { ...this.values, 'transport.stream.connectionsOpen': this.openConnections };
  }
}
