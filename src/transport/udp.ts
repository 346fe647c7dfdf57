/**
 * Datagrams over one UDP socket (node:dgram): udp6 when the bind host is IPv6, udp4 otherwise.
 * Receive hands every datagram to the handler with the sender's address; send never throws
 * (errors are counted and logged at debug).
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Logger } from '../log/logger.js';
import type { Address } from '../wire/messages.js';
import { formatHostPort, normalizeHost } from './address.js';
import type { TransportCounters } from './counters.js';

/** The largest UDP payload (IPv4: 65535 - 8 - 20). */
export const MAX_DATAGRAM_BYTES = 65_507;

export type DatagramHandler = (from: Address, packet: Buffer) => void;

export class DatagramTransport {
  private socket: Socket | null = null;
  private closed = false;
  /** Sends handed to the socket whose callback has not run yet. */
  private inFlight = 0;
  private drained: (() => void) | null = null;

  constructor(
    private readonly counters: TransportCounters,
    private readonly log: Logger,
    private readonly onDatagram: DatagramHandler,
  ) {}

  /** Binds host:port and resolves with the bound port. */
  bind(host: string, port: number): Promise<number> {
    const socket = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4' });
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once('error', onError);
      socket.bind({ address: host, port, exclusive: true }, () => {
        socket.off('error', onError);
        socket.on('error', (err) => this.log.warn({ err }, 'udp socket error'));
        socket.on('message', (msg, rinfo) => {
          this.counters.add('transport.datagram.packetsIn');
          this.counters.add('transport.datagram.bytesIn', msg.length);
          this.onDatagram({ host: normalizeHost(rinfo.address), port: rinfo.port }, msg);
        });
        this.socket = socket;
        resolve(socket.address().port);
      });
    });
  }

  send(to: Address, packet: Uint8Array): void {
    const c = this.counters;
    const socket = this.socket;
    if (socket === null || this.closed) {
      c.drop('closed');
      return;
    }
    if (packet.length > MAX_DATAGRAM_BYTES) {
      c.drop('datagram-too-large');
      this.log.debug({ to: formatHostPort(to), bytes: packet.length }, 'datagram too large: dropped');
      return;
    }
    c.add('transport.datagram.packetsOut');
    c.add('transport.datagram.bytesOut', packet.length);
    this.inFlight++;
    socket.send(packet, to.port, to.host, (err) => {
      this.inFlight--;
      if (this.inFlight === 0) this.drained?.();
      if (err) {
        c.drop('send-error');
        this.log.debug({ to: formatHostPort(to), err: err.message }, 'datagram send failed: dropped');
      }
    });
  }

  /**
   * Closes the socket once the datagrams already sent have left (a send resolves its address
   * asynchronously, and closing before that would silently discard it: a leave's last gossip),
   * waiting at most `drainMs`.
   */
  async close(drainMs = 1000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs);
        timer.unref();
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
