/**
 * Event fan-out: synchronous listeners plus async iterators that honour an AbortSignal.
 *
 * Order: every listener and every iterator sees the events in the order they were published
 * (for membership events, the order the state machine emitted them). Listeners run synchronously
 * in registration order; a listener that throws is reported to `onListenerError` and does not stop
 * the others. Each iterator buffers up to `maxBuffered` events for a slow consumer; beyond that the
 * oldest are dropped and counted (`dropped`), so a forgotten iterator cannot grow without bound.
 */

export interface EventHubOptions {
  /** Events an iterator holds for a slow consumer before dropping the oldest. @default 10000 */
  readonly maxBuffered?: number;
  readonly onListenerError?: (err: unknown) => void;
}

export class EventHub<T> {
  private readonly listeners: ((event: T) => void)[] = [];
  private readonly iterators = new Set<EventIterator<T>>();
  private readonly maxBuffered: number;
  private readonly onListenerError: (err: unknown) => void;
  private closed = false;
  /** Events dropped from iterator buffers because their consumer fell behind. */
  dropped = 0;

  constructor(options: EventHubOptions = {}) {
    this.maxBuffered = options.maxBuffered ?? 10_000;
    this.onListenerError = options.onListenerError ?? (() => {});
  }

  on(listener: (event: T) => void): void {
    this.listeners.push(listener);
  }

  off(listener: (event: T) => void): void {
    const i = this.listeners.lastIndexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  get listenerCount(): number {
    return this.listeners.length;
  }

  publish(event: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        this.onListenerError(err);
      }
    }
    for (const it of this.iterators) {
      if (it.push(event, this.maxBuffered)) this.dropped++;
    }
  }

  /** An iterator of the events published from now on; ends on abort, return() or close(). */
  iterate(signal?: AbortSignal): AsyncIterableIterator<T> {
    const it = new EventIterator<T>(() => this.iterators.delete(it));
    if (this.closed || signal?.aborted === true) {
      it.end(false);
      return it;
    }
    this.iterators.add(it);
    if (signal !== undefined) {
      const onAbort = (): void => it.end(false);
      signal.addEventListener('abort', onAbort, { once: true });
      it.onEnd = () => signal.removeEventListener('abort', onAbort);
    }
    return it;
  }

  /** Ends every iterator once it has delivered what it buffered; later iterators end at once. */
  close(): void {
    this.closed = true;
    for (const it of [...this.iterators]) it.end(true);
    this.listeners.length = 0;
  }
}

class EventIterator<T> implements AsyncIterableIterator<T> {
  private buffer: T[] = [];
  private head = 0;
  private waiting: ((r: IteratorResult<T>) => void) | null = null;
  private ended = false;
  onEnd: () => void = () => {};

  constructor(private readonly detach: () => void) {}

  /** Queues an event; returns true when the oldest one had to be dropped to make room. */
  push(event: T, max: number): boolean {
    if (this.ended) return false;
    if (this.waiting !== null) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: event, done: false });
      return false;
    }
    this.buffer.push(event);
    if (this.buffer.length - this.head > max) {
      this.head++;
      this.compact();
      return true;
    }
    return false;
  }

  /** Stops the iterator; with `drain` the buffered events are still delivered first. */
  end(drain: boolean): void {
    if (this.ended) return;
    this.ended = true;
    if (!drain) {
      this.buffer = [];
      this.head = 0;
    }
    this.detach();
    this.onEnd();
    if (this.waiting !== null) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.buffer.length) {
      const value = this.buffer[this.head] as T;
      this.head++;
      this.compact();
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    if (this.waiting !== null) return Promise.reject(new Error('events(): next() called again before the previous call settled'));
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.end(false);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private compact(): void {
    if (this.head === this.buffer.length) {
      this.buffer = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.buffer.length) {
      this.buffer = this.buffer.slice(this.head);
      this.head = 0;
    }
  }
}
