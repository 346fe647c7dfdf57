/**
 * Every error hearsay throws at a user is a HearsayError with a stable `code`; one subclass per
 * condition. Messages say what was wrong and what to do. Bad input from peers is never thrown:
 * it is dropped and counted.
 */
export class HearsayError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Options that violate one or more constraints; `problems` lists each one. */
export class InvalidOptionsError extends HearsayError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(
      'HEARSAY_ERR_INVALID_OPTIONS',
      `invalid options (${problems.length}):\n  - ${problems.join('\n  - ')}\nfix the listed options and try again`,
    );
    this.problems = problems;
  }
}

/** A local member state that does not fit the packet budget. */
export class StateTooLargeError extends HearsayError {
  readonly encodedBytes: number;
  readonly limitBytes: number;
  constructor(encodedBytes: number, limitBytes: number) {
    super(
      'HEARSAY_ERR_STATE_TOO_LARGE',
      `this node's state encodes to ${encodedBytes} bytes but an alive message must fit ${limitBytes} bytes ` +
        `(maxPacketBytes less framing): trim tags or the payload, or raise maxPacketBytes if your network's MTU allows`,
    );
    this.encodedBytes = encodedBytes;
    this.limitBytes = limitBytes;
  }
}

/** An operation that needs a running, not-left membership was called after leave(). */
export class NotRunningError extends HearsayError {
  constructor(what: string) {
    super('HEARSAY_ERR_NOT_RUNNING', `${what}: this node has left the cluster; create a new one to rejoin`);
  }
}
