/**
 * Streams over TCP: a listener for connections other members open, and a client that opens one
 * per outgoing stream packet. Every packet is length-framed (framing.ts).
 *
 * One exchange per connection, as in memberlist. The dialer writes its frame(s) and half-closes
 * (FIN); the listener hands each frame it reads to `onFrame` together with a `reply` function
 * that writes on the same connection (push-pull answers and stream-probe acks go back the way the
 * request came, which also works through NAT), and once the dialer's FIN arrives and the answers
 * are written it closes its side. The dialer delivers every frame it reads back until that close.
 * Both sides cut a connection whose message does not arrive within the read timeout, or whose
 * frame announces more than `maxFrameBytes`, and count the drop. Optional caps: inbound
 * connections open at once (more are closed on accept), bytes read per inbound connection, and
 * outbound connections open at once (more dials fail at once); each is counted when hit.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import type { Address } from '../wire/messages.js';
import { normalizeHost, formatHostPort } from './address.js';
import type { TransportCounters } from './counters.js';
import { FrameDecoder, frameParts } from './framing.js';

export interface StreamOptions {
  /** Give up connecting after this long, in ms. */
  readonly connectTimeoutMs: number;
  /** Cut a connection whose message has not fully arrived this long after it opened, in ms. */
  readonly readTimeoutMs: number;
  /** Largest frame accepted or sent, in bytes. */
  readonly maxFrameBytes: number;
  /** Most inbound connections open at once; more are closed at once and counted. @default unlimited */
  readonly maxInboundConnections?: number;
  /** Most bytes read on one inbound connection; beyond it the connection is cut and counted. @default unlimited */
  readonly maxConnectionBytes?: number;
  /** Most outbound connections (dials) open at once; more fail at once and are counted. @default unlimited */
  readonly maxOutboundConnections?: number;
  /** Most inbound connections from one source address that is not a member's, at once. @default unlimited */
  readonly maxInboundPerSource?: number;
  /** Of maxInboundConnections, how many only sources that `isPeer` accepts may use. @default 0 */
  readonly peerReservedConnections?: number;
  /** Whether a source address is a member of the mesh (for the reserved slots). */
  readonly isPeer?: (host: string) => boolean;
  /** The first frame header must arrive within this long, in ms. @default readTimeoutMs */
  readonly headerTimeoutMs?: number;
  /** Cut a connection that sends nothing for this long, in ms. @default readTimeoutMs */
  readonly idleTimeoutMs?: number;
}

/** How a dial ended. `ok` means the peer closed cleanly after answering (or not answering). */
export type DialResult =
  | { readonly ok: true; readonly frames: number }
  | {
      readonly ok: false;
      readonly frames: number;
      readonly reason: 'connect-refused' | 'connect-timeout' | 'connect-failed' | 'read-timeout' | 'frame-too-large' | 'send-too-large' | 'reset' | 'closed' | 'dial-limit';
      /** A human-readable cause, e.g. "connection refused". */
      readonly message: string;
      /** The system error code, when there was one. */
      readonly errno?: string;
    };

/** Called for each frame read on an accepted connection; `reply` writes a frame back on it. */
export type InboundFrameHandler = (from: Address, frame: Buffer, reply: (frame: Uint8Array) => void) => void;

export class StreamTransport {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private inbound = 0;
  /** Inbound connections open per source address. */
  private readonly perSource = new Map<string, number>();
  private outbound = 0;
  private readonly pending = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly options: StreamOptions,
    private readonly counters: TransportCounters,
    private readonly log: Logger,
    private readonly onInbound: InboundFrameHandler,
  ) {}

  /** Listens on host:port (0 for a free port) and resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    const server = createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.server = null;
        reject(err);
      };
      server.once('error', onError);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', onError);
        server.on('error', (err) => this.log.warn({ err }, 'tcp listener error'));
        const addr = server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
      });
    });
  }

  /** Stops listening but keeps the transport usable (a bind retry listens again). */
  async closeListener(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Stops listening and cuts every open connection; pending dials resolve as 'closed'. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    for (const end of [...this.pending]) end();
    await this.closeListener();
  }

  /**
   * Opens a connection to `to`, writes `frame`, half-closes, and delivers each frame read back
   * to `onFrame` until the peer closes or the read timeout. Never rejects.
   */
  dial(to: Address, frame: Uint8Array, onFrame: (frame: Buffer) => void): Promise<DialResult> {
    const c = this.counters;
    if (this.closed) {
      c.drop('closed');
      return Promise.resolve({ ok: false, frames: 0, reason: 'closed', message: 'the transport is closed' });
    }
    if (frame.length > this.options.maxFrameBytes) {
      c.drop('send-too-large');
      this.log.debug({ to: formatHostPort(to), bytes: frame.length }, 'stream packet too large to send: dropped');
      return Promise.resolve({
        ok: false,
        frames: 0,
        reason: 'send-too-large',
        message: `the packet (${frame.length} bytes) exceeds maxStreamBytes (${this.options.maxFrameBytes})`,
      });
    }
    const maxOut = this.options.maxOutboundConnections ?? Infinity;
    if (this.outbound >= maxOut) {
      c.drop('dial-limit');
      this.log.debug({ to: formatHostPort(to), open: this.outbound }, 'too many outbound connections: not dialed');
      return Promise.resolve({ ok: false, frames: 0, reason: 'dial-limit', message: `too many outbound connections open (limit ${maxOut})` });
    }
    c.add('transport.stream.connectionsOut');
    this.outbound++;
    const peer = formatHostPort(to);
    return new Promise<DialResult>((resolve) => {
      const socket = connect({ host: to.host, port: to.port, allowHalfOpen: true });
      this.track(socket);
      let connected = false;
      let frames = 0;
      let done = false;
      const decoder = new FrameDecoder(this.options.maxFrameBytes);
      const finish = (result: DialResult): void => {
        if (done) return;
        done = true;
        this.outbound--;
        clearTimeout(connectTimer);
        clearTimeout(readTimer);
        this.pending.delete(onClose);
        socket.destroy();
        resolve(result);
      };
      const onClose = (): void => finish({ ok: false, frames, reason: 'closed', message: 'the transport closed' });
      this.pending.add(onClose);
      let readTimer: NodeJS.Timeout | undefined;
      const connectTimer = setTimeout(() => {
        c.add('transport.stream.connectTimeouts');
        c.add('transport.stream.connectFailures');
        c.drop('connect-timeout');
        this.log.debug({ to: peer }, 'stream connect timeout: dropped');
        finish({ ok: false, frames, reason: 'connect-timeout', message: `connect timeout after ${this.options.connectTimeoutMs} ms` });
      }, this.options.connectTimeoutMs);
      connectTimer.unref();
      socket.once('connect', () => {
        connected = true;
        clearTimeout(connectTimer);
        readTimer = setTimeout(() => {
          c.add('transport.stream.readTimeouts');
          c.drop('read-timeout');
          this.log.debug({ to: peer, frames }, 'stream read timeout: connection cut');
          finish({ ok: false, frames, reason: 'read-timeout', message: `no complete answer within ${this.options.readTimeoutMs} ms` });
        }, this.options.readTimeoutMs);
        readTimer.unref();
        this.write(socket, frame);
        socket.end();
      });
      socket.on('data', (chunk: Buffer) => {
        if (done) return;
        const r = decoder.push(chunk);
        for (const f of r.frames) {
          frames++;
          c.add('transport.stream.packetsIn');
          c.add('transport.stream.bytesIn', f.length);
          onFrame(f);
          if (done) return;
        }
        if (!r.ok) {
          c.drop('frame-too-large');
          this.log.debug({ from: peer, announced: r.tooLarge, limit: this.options.maxFrameBytes }, 'stream frame too large: connection cut');
          finish({ ok: false, frames, reason: 'frame-too-large', message: `the answer announced ${r.tooLarge} bytes, over maxStreamBytes` });
        }
      });
      socket.on('end', () => finish({ ok: true, frames }));
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (done) return;
        if (!connected) {
          c.add('transport.stream.connectFailures');
          c.drop('connect-failed');
          this.log.debug({ to: peer, err: err.message }, 'stream connect failed: dropped');
          finish({ ok: false, frames, ...describeConnectError(err) });
        } else {
          this.log.debug({ to: peer, err: err.message }, 'stream connection error');
          finish({ ok: false, frames, reason: 'reset', message: err.message, ...(err.code === undefined ? {} : { errno: err.code }) });
        }
      });
      socket.on('close', () => {
        if (!done) finish(connected ? { ok: true, frames } : { ok: false, frames, reason: 'connect-failed', message: 'the connection closed' });
      });
    });
  }

  private accept(socket: Socket): void {
    const c = this.counters;
    if (this.closed) {
      socket.destroy();
      return;
    }
    const o = this.options;
    const source = normalizeHost(socket.remoteAddress ?? '');
    const max = o.maxInboundConnections ?? Infinity;
    // Slots above max - reserve are kept for members: a stranger's flood cannot keep peers out.
    const member = o.isPeer?.(source) === true;
    const slot = this.inbound >= max ? 'full' : this.inbound >= max - (o.peerReservedConnections ?? 0) && !member ? 'reserved' : 'ok';
    if (slot !== 'ok') {
      c.drop('connection-limit');
      this.log.debug({ from: source, open: this.inbound, reserved: slot === 'reserved' }, 'too many inbound connections: refused');
      socket.destroy();
      return;
    }
    const fromSource = this.perSource.get(source) ?? 0;
    // Members are not capped per address (a local cluster runs every agent on one); strangers are.
    if (!member && fromSource >= (o.maxInboundPerSource ?? Infinity)) {
      c.drop('source-limit');
      this.log.debug({ from: source, open: fromSource }, 'too many inbound connections from one address: refused');
      socket.destroy();
      return;
    }
    c.add('transport.stream.connectionsIn');
    this.inbound++;
    this.perSource.set(source, fromSource + 1);
    socket.once('close', () => {
      this.inbound--;
      const n = (this.perSource.get(source) ?? 1) - 1;
      if (n <= 0) this.perSource.delete(source);
      else this.perSource.set(source, n);
    });
    this.track(socket);
    const maxBytes = this.options.maxConnectionBytes ?? Infinity;
    let bytesRead = 0;
    // A fresh object per connection: answers addressed to exactly this object go back on it.
    const from: Address = { host: normalizeHost(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
    const peer = formatHostPort(from);
    const decoder = new FrameDecoder(this.options.maxFrameBytes);
    let open = true;
    const cut = (): void => {
      open = false;
      clearTimeout(readTimer);
      clearTimeout(headerTimer);
      clearTimeout(idleTimer);
      socket.destroy();
    };
    const timeout = (ms: number, what: string): NodeJS.Timeout => {
      const t = setTimeout(() => {
        c.add('transport.stream.readTimeouts');
        c.drop('read-timeout');
        this.log.debug({ from: peer, what }, 'stream read timeout: connection cut');
        cut();
      }, ms);
      t.unref();
      return t;
    };
    // The whole message within readTimeoutMs; the first header sooner; and never silent for long.
    const readTimer = timeout(this.options.readTimeoutMs, 'message');
    const headerTimer = timeout(o.headerTimeoutMs ?? this.options.readTimeoutMs, 'first frame header');
    const idleMs = o.idleTimeoutMs ?? this.options.readTimeoutMs;
    let idleTimer = timeout(idleMs, 'idle');
    let sawHeader = false;
    const reply = (frame: Uint8Array): void => {
      if (!open || socket.writableEnded || socket.destroyed) {
        c.drop('connection-closed');
        this.log.debug({ to: peer }, 'reply for a closed connection: dropped');
        return;
      }
      if (frame.length > this.options.maxFrameBytes) {
        c.drop('send-too-large');
        this.log.debug({ to: peer, bytes: frame.length }, 'stream reply too large to send: dropped');
        return;
      }
      this.write(socket, frame);
    };
    socket.on('data', (chunk: Buffer) => {
      if (!open) return;
      bytesRead += chunk.length;
      clearTimeout(idleTimer);
      idleTimer = timeout(idleMs, 'idle');
      if (!sawHeader && bytesRead >= 4) {
        sawHeader = true;
        clearTimeout(headerTimer);
      }
      if (bytesRead > maxBytes) {
        c.drop('connection-bytes');
        this.log.debug({ from: peer, bytes: bytesRead, limit: maxBytes }, 'too many bytes on one connection: cut');
        cut();
        return;
      }
      const r = decoder.push(chunk);
      for (const f of r.frames) {
        c.add('transport.stream.packetsIn');
        c.add('transport.stream.bytesIn', f.length);
        this.onInbound(from, f, reply);
        if (!open) return;
      }
      if (!r.ok) {
        c.drop('frame-too-large');
        this.log.debug({ from: peer, announced: r.tooLarge, limit: this.options.maxFrameBytes }, 'stream frame too large: connection cut');
        cut();
      }
    });
    socket.on('end', () => {
      // The dialer has sent everything; the answers have been written synchronously. Close our side.
      clearTimeout(readTimer);
      clearTimeout(headerTimer);
      clearTimeout(idleTimer);
      if (open) socket.end();
      open = false;
    });
    socket.on('error', (err) => {
      this.log.debug({ from: peer, err: err.message }, 'inbound stream error');
      cut();
    });
    socket.on('close', () => {
      clearTimeout(readTimer);
      clearTimeout(headerTimer);
      clearTimeout(idleTimer);
    });
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    this.counters.openConnections++;
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.counters.openConnections--;
    });
  }

  private write(socket: Socket, frame: Uint8Array): void {
    const [header, payload] = frameParts(frame);
    socket.cork();
    socket.write(header);
    socket.write(payload);
    socket.uncork();
    this.counters.add('transport.stream.packetsOut');
    this.counters.add('transport.stream.bytesOut', frame.length);
  }
}

function describeConnectError(err: NodeJS.ErrnoException): {
  reason: 'connect-refused' | 'connect-failed';
  message: string;
  errno?: string;
} {
  const code = err.code ?? (err as { errors?: NodeJS.ErrnoException[] }).errors?.[0]?.code;
  const text: Record<string, string> = {
    ECONNREFUSED: 'connection refused (nothing listens on that port)',
    ENOTFOUND: 'host name not found',
    EAI_AGAIN: 'host name lookup failed (temporary DNS failure)',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'connect timed out',
    EADDRNOTAVAIL: 'address not available',
  };
  const message = (code !== undefined ? text[code] : undefined) ?? err.message;
  return {
    reason: code === 'ECONNREFUSED' ? 'connect-refused' : 'connect-failed',
    message,
    ...(code === undefined ? {} : { errno: code }),
  };
}
