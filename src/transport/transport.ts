/**
 * The network under one membership: a UDP socket for datagrams and a TCP listener and client for
 * streams, on the same port number. The agent feeds what arrives to the membership and carries out
 * its send effects here.
 */
import { isIP } from 'node:net';
import type { Logger } from '../log/logger.js';
import { BindError } from './errors.js';
import type { Address } from '../wire/messages.js';
import { TransportCounters } from './counters.js';
import { StreamTransport, type DialResult, type InboundFrameHandler, type StreamOptions } from './tcp.js';
import { DatagramTransport, type DatagramHandler } from './udp.js';

export type { DialResult, InboundFrameHandler, DatagramHandler };

export interface TransportOptions {
  /** Where to listen; port 0 picks a port free for both TCP and UDP. */
  readonly bind: Address;
  readonly connectTimeoutMs: number;
  readonly readTimeoutMs: number;
  /** Largest stream frame accepted or sent (membership's maxStreamBytes). */
  readonly maxStreamBytes: number;
  /** Most inbound TCP connections open at once (concurrent push-pulls included). @default unlimited */
  readonly maxInboundConnections?: number;
  /** Most bytes read on one inbound TCP connection. @default unlimited */
  readonly maxConnectionBytes?: number;
  /** Most outbound TCP connections open at once. @default unlimited */
  readonly maxOutboundConnections?: number;
  /** Inbound TCP policy (tcp.ts StreamOptions): per-source cap, peer reserve, header and idle timeouts. */
  readonly inbound?: Pick<StreamOptions, 'maxInboundPerSource' | 'peerReservedConnections' | 'isPeer' | 'headerTimeoutMs' | 'idleTimeoutMs'>;
  readonly logger: Logger;
}

export interface TransportHandlers {
  readonly onDatagram: DatagramHandler;
  readonly onStreamFrame: InboundFrameHandler;
}

/** How often port 0 is retried when UDP finds the port TCP picked already taken. */
const BIND_ATTEMPTS = 8;

export class Transport {
  readonly counters = new TransportCounters();
  private readonly stream: StreamTransport;
  private readonly datagram: DatagramTransport;
  private readonly log: Logger;
  private bound: Address | null = null;
  private closed = false;

  constructor(
    private readonly options: TransportOptions,
    private readonly handlers: TransportHandlers,
  ) {
    this.log = options.logger;
    this.stream = new StreamTransport(
      {
        connectTimeoutMs: options.connectTimeoutMs,
        readTimeoutMs: options.readTimeoutMs,
        maxFrameBytes: options.maxStreamBytes,
        ...(options.maxInboundConnections === undefined ? {} : { maxInboundConnections: options.maxInboundConnections }),
        ...(options.maxConnectionBytes === undefined ? {} : { maxConnectionBytes: options.maxConnectionBytes }),
        ...(options.maxOutboundConnections === undefined ? {} : { maxOutboundConnections: options.maxOutboundConnections }),
        ...options.inbound,
      },
      this.counters,
      this.log,
      (from, frame, reply) => this.handlers.onStreamFrame(from, frame, reply),
    );
    this.datagram = new DatagramTransport(this.counters, this.log, (from, packet) => this.handlers.onDatagram(from, packet));
  }

  /** The bound address (host as resolved, real port); null before listen(). */
  get address(): Address | null {
    return this.bound;
  }

  /**
   * Binds TCP, then UDP on the same port. With port 0, TCP picks the port and UDP follows; if UDP
   * finds it taken, both are retried on a new one. Throws BindError.
   */
  async listen(): Promise<Address> {
    const { host: wanted, port } = this.options.bind;
    let host: string;
    try {
      // An address as it is (dns.lookup returns it unchanged); node:dns/promises is loaded for a name only.
      host = isIP(wanted) !== 0 ? wanted : (await process.getBuiltinModule('node:dns/promises').lookup(wanted)).address;
    } catch (err) {
      throw new BindError(wanted, port, err);
    }
    let lastError: unknown;
    for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
      let tcpPort: number;
      try {
        tcpPort = await this.stream.listen(host, port);
      } catch (err) {
        throw new BindError(host, port, err);
      }
      try {
        await this.datagram.bind(host, tcpPort);
        this.bound = { host, port: tcpPort };
        this.log.debug({ host, port: tcpPort }, 'listening (tcp and udp)');
        return this.bound;
      } catch (err) {
        lastError = err;
        await this.stream.closeListener();
        if (port !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
        this.log.debug({ port: tcpPort }, 'udp port taken: trying another');
      }
    }
    throw new BindError(host, port, lastError);
  }

  sendDatagram(to: Address, packet: Uint8Array): void {
    this.datagram.send(to, packet);
  }

  dial(to: Address, frame: Uint8Array, onFrame: (frame: Buffer) => void): Promise<DialResult> {
    return this.stream.dial(to, frame, onFrame);
  }

  counterValues(): Record<string, number> {
    return this.counters.snapshot();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.stream.close(), this.datagram.close()]);
  }
}
