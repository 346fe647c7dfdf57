/**
 * A small client of Serf's RPC protocol (the one `serf members`, `serf join` and the other CLI
 * commands speak to an agent's -rpc-addr): msgpack values over one TCP connection. A request is a
 * header map {Command, Seq} followed by a body map for the commands that take one; the answer is a
 * header map {Seq, Error} followed by a body for the commands that return one. `handshake`
 * ({Version: 1}) must come first. Requests here are one at a time per connection (await each), so
 * answers arrive in order and the Seq is a check, not a routing key.
 *
 * Only what the bench uses: handshake, members, join, leave. msgpack through msgpackr (a
 * devDependency): Serf's answers are general msgpack maps, beyond the subset src/wire/ reads.
 */
import { connect, type Socket } from 'node:net';
import { Packr, Unpackr } from 'msgpackr';

/** Which commands answer with a body after the header (Serf's ipc.go: handleJoin, handleMembers). */
const HAS_BODY: Readonly<Record<string, boolean>> = { handshake: false, join: true, members: true, leave: false };

export interface SerfMember {
  readonly Name: string;
  readonly Status: string;
}

interface Pending {
  readonly seq: number;
  readonly command: string;
  readonly resolve: (body: unknown) => void;
  readonly reject: (err: Error) => void;
  header?: { Seq: number; Error: string };
}

/**
 * Splits a byte stream into msgpack values: bytes that end mid-value wait for the next chunk.
 * Exported for its test.
 */
export class MsgpackStreamDecoder {
  private readonly unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
  private rest: Buffer = Buffer.alloc(0);

  /** Feeds a chunk; returns every value it completed, in order. Throws on bytes that are not msgpack. */
  push(chunk: Buffer): unknown[] {
    const buf = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    const values: unknown[] = [];
    let consumed = 0;
    try {
      this.unpackr.unpackMultiple(buf, (value: unknown, _start?: number, end?: number) => {
        values.push(value);
        consumed = end ?? buf.length;
      });
    } catch (err) {
      if ((err as { incomplete?: boolean }).incomplete !== true) throw err;
    }
    this.rest = Buffer.from(buf.subarray(consumed));
    return values;
  }
}

export class SerfRpcError extends Error {}

export class SerfRpcClient {
  private seq = 0;
  private readonly queue: Pending[] = [];
  private readonly decoder = new MsgpackStreamDecoder();
  private readonly packr = new Packr({ useRecords: false });
  private failed: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let values: unknown[];
      try {
        values = this.decoder.push(chunk);
      } catch (err) {
        this.fail(new SerfRpcError(`the agent sent bytes that are not msgpack: ${(err as Error).message}`));
        return;
      }
      for (const v of values) this.receive(v);
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new SerfRpcError('the RPC connection closed')));
  }

  /** Connects and performs the handshake. Rejects when nothing listens (the agent is not up yet). */
  static async connect(host: string, port: number, timeoutMs = 2000): Promise<SerfRpcClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host, port });
      const timer = setTimeout(() => s.destroy(new Error(`connect timeout after ${timeoutMs} ms`)), timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    const client = new SerfRpcClient(socket);
    try {
      await client.call('handshake', { Version: 1 });
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  /** Every member this agent knows, name → Serf's status (alive, leaving, left, failed). */
  async members(): Promise<Map<string, string>> {
    const body = (await this.call('members')) as { Members?: SerfMember[] };
    return new Map((body.Members ?? []).map((m) => [m.Name, m.Status]));
  }

  /** Joins through `existing` (HOST:PORT); resolves with how many it joined. */
  async join(existing: readonly string[]): Promise<number> {
    const body = (await this.call('join', { Existing: existing, Replay: false })) as { Num?: number };
    return body.Num ?? 0;
  }

  /** A graceful leave; Serf answers once the leave is broadcast, then shuts the agent down. */
  async leave(): Promise<void> {
    await this.call('leave');
  }

  close(): void {
    this.failed ??= new SerfRpcError('the client was closed');
    this.socket.destroy();
  }

  call(command: string, body?: Record<string, unknown>, timeoutMs = 30_000): Promise<unknown> {
    if (this.failed !== null) return Promise.reject(this.failed);
    const seq = this.seq++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new SerfRpcError(`no answer to ${command} within ${timeoutMs} ms`)), timeoutMs);
      this.queue.push({
        seq,
        command,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      const header = this.packr.pack({ Command: command, Seq: seq });
      this.socket.write(body === undefined ? header : Buffer.concat([header, this.packr.pack(body)]));
    });
  }

  private receive(value: unknown): void {
    const head = this.queue[0];
    if (head === undefined) {
      this.fail(new SerfRpcError('the agent sent an answer nobody asked for'));
      return;
    }
    if (head.header === undefined) {
      const h = value as { Seq?: unknown; Error?: unknown };
      if (typeof h !== 'object' || h === null || h.Seq !== head.seq) {
        this.fail(new SerfRpcError(`expected the answer to ${head.command} (Seq ${head.seq}), got ${JSON.stringify(value)}`));
        return;
      }
      head.header = { Seq: head.seq, Error: typeof h.Error === 'string' ? h.Error : '' };
      if (HAS_BODY[head.command] === true) return; // the body comes next
      value = undefined;
    }
    this.queue.shift();
    if (head.header.Error !== '') head.reject(new SerfRpcError(`serf ${head.command}: ${head.header.Error}`));
    else head.resolve(value);
  }

  private fail(err: Error): void {
    this.failed ??= err;
    this.socket.destroy();
    for (const p of this.queue.splice(0)) p.reject(err);
  }
}
