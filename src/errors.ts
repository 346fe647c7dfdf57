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

/** Names of the state layer's limits, as the options that set them are called. */
const STATE_LIMIT_NAMES = { 'entry-too-large': 'maxEntryBytes', 'too-many-entries': 'maxEntries', 'node-too-large': 'maxNodeBytes' } as const;

/** A change to this node's state (src/state/) that would break one of its limits; nothing changed. */
export class StateLimitError extends HearsayError {
  /** The limit's name: maxEntryBytes, maxEntries or maxNodeBytes. */
  readonly limit: string;
  readonly limitValue: number;
  readonly value: number;
  constructor(reason: keyof typeof STATE_LIMIT_NAMES, key: string, value: number, limits: { readonly maxEntries: number; readonly maxEntryBytes: number; readonly maxNodeBytes: number }) {
    const limit = STATE_LIMIT_NAMES[reason];
    const limitValue = limits[limit];
    const what =
      reason === 'entry-too-large'
        ? `entry ${JSON.stringify(key)} would take ${value} bytes`
        : reason === 'too-many-entries'
          ? `setting ${JSON.stringify(key)} would make ${value} entries`
          : `setting ${JSON.stringify(key)} would make this node's state ${value} bytes`;
    super('HEARSAY_ERR_STATE_LIMIT', `${what}, over the state limit ${limit} = ${limitValue}: remove entries or raise ${limit}`);
    this.limit = limit;
    this.limitValue = limitValue;
    this.value = value;
  }
}

/** An operation that needs a running, not-left membership was called after leave(). */
export class NotRunningError extends HearsayError {
  constructor(what: string) {
    super('HEARSAY_ERR_NOT_RUNNING', `${what}: this node has left the cluster; create a new one to rejoin`);
  }
}

/** One seed's failure in a join: which seed, why, and after how many attempts. */
export interface SeedFailure {
  /** The seed as given (HOST:PORT). */
  readonly seed: string;
  /** A short reason: "connection refused", "connect timeout after 5000 ms", ... */
  readonly reason: string;
  /** The system error code when there was one (ECONNREFUSED, ETIMEDOUT, ENOTFOUND, ...). */
  readonly errno?: string;
  readonly attempts: number;
}

/** join() reached none of its seeds; `failures` lists each seed's last failure. */
export class JoinError extends HearsayError {
  readonly failures: readonly SeedFailure[];
  constructor(failures: readonly SeedFailure[]) {
    const lines = failures.map(
      (f) => `${f.seed}: ${f.reason}${f.errno === undefined ? '' : ` (${f.errno})`} after ${f.attempts} attempt${f.attempts === 1 ? '' : 's'}`,
    );
    super(
      'HEARSAY_ERR_JOIN_FAILED',
      failures.length === 0
        ? 'join: no seeds were given; pass at least one HOST:PORT of a running agent'
        : `join: ${failures.length === 1 ? 'the seed did not answer' : `none of the ${failures.length} seeds answered`}:\n  - ${lines.join('\n  - ')}\n` +
            'check that an agent runs at each seed address and that its TCP and UDP port is reachable from here ' +
            '(firewall, container port mapping, its advertise address)',
    );
    this.failures = failures;
  }
}

/** An operation was called on an agent that has been closed (or has left). */
export class AgentClosedError extends HearsayError {
  constructor(what: string) {
    super('HEARSAY_ERR_AGENT_CLOSED', `${what}: this agent is closed; create a new agent with createAgent() to rejoin`);
  }
}

/** An operation that needs the sockets was called before start(). */
export class NotStartedError extends HearsayError {
  constructor(what: string) {
    super('HEARSAY_ERR_NOT_STARTED', `${what}: the agent is not started; await agent.start() first`);
  }
}

/** A HOST:PORT string that could not be parsed; `problem` is parseHostPort's (it says how to write one). */
export class InvalidAddressError extends HearsayError {
  readonly input: string;
  constructor(input: string, problem: string) {
    super('HEARSAY_ERR_INVALID_ADDRESS', `invalid address ${JSON.stringify(input)}: it ${problem}`);
    this.input = input;
  }
}

/** A data dir that cannot be used: the path is wrong, or a file in it cannot be written. */
export class DataDirError extends HearsayError {
  readonly path: string;
  constructor(path: string, cause: unknown) {
    const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
    super(
      'HEARSAY_ERR_DATA_DIR',
      errno === undefined && cause instanceof Error
        ? `cannot use data dir ${path}: ${cause.message}: give a directory this process can create or write (--data-dir)`
        : `cannot use data dir ${path} (${errno ?? String(cause)}): make sure the directory exists or can be created and is writable by this process`,
      { cause },
    );
    this.path = path;
  }
}

/** A service registration (or one of its checks) that breaks the registry's rules. */
export class InvalidServiceError extends HearsayError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(
      'HEARSAY_ERR_INVALID_SERVICE',
      `invalid service registration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`,
    );
    this.problems = problems;
  }
}

/**
 * A registration over one of the registry's limits on this node (maxInstancesPerNode,
 * maxInstanceBytes, maxNodeStateBytes); nothing changed.
 */
export class ServiceLimitError extends HearsayError {
  readonly limit: string;
  readonly limitValue: number;
  readonly value: number;
  constructor(what: string, limit: string, limitValue: number, value: number, fix: string) {
    super('HEARSAY_ERR_SERVICE_LIMIT', `${what}: ${value} is over the limit ${limit} = ${limitValue}; ${fix}`);
    this.limit = limit;
    this.limitValue = limitValue;
    this.value = value;
  }
}

/**
 * A registration that would make this node's state too large to fit one datagram.
 * @deprecated Not thrown since protocol version 2: a node's instances ride in the state layer, not
 * in one datagram; the limits are ServiceLimitError's.
 */
export class ServiceTooLargeError extends HearsayError {
  readonly encodedBytes: number;
  readonly limitBytes: number;
  constructor(what: string, encodedBytes: number, limitBytes: number) {
    super(
      'HEARSAY_ERR_SERVICE_TOO_LARGE',
      `${what}: this node's state (tags and every instance) would encode to ${encodedBytes} bytes, over the limit of ` +
        `${limitBytes} bytes (maxPacketBytes less framing, so that it fits one datagram). Trim the instance's tags and meta, ` +
        `shorten ids and names, register fewer instances on this node, or raise maxPacketBytes if your network's MTU allows`,
    );
    this.encodedBytes = encodedBytes;
    this.limitBytes = limitBytes;
  }
}

/** A service instance or check id this agent does not have. */
export class UnknownServiceError extends HearsayError {
  constructor(kind: 'service' | 'check', id: string, hint: string) {
    super(kind === 'service' ? 'HEARSAY_ERR_UNKNOWN_SERVICE' : 'HEARSAY_ERR_UNKNOWN_CHECK', `no ${kind} with id ${JSON.stringify(id)} on this agent: ${hint}`);
  }
}

/** A member name this node does not know. */
export class UnknownMemberError extends HearsayError {
  constructor(name: string) {
    super('HEARSAY_ERR_UNKNOWN_MEMBER', `no member named ${JSON.stringify(name)} in this node's view: list them with \`hearsay members\``);
  }
}

/** force-leave of a member that is alive: it would refute at once. */
export class MemberAliveError extends HearsayError {
  constructor(name: string) {
    super(
      'HEARSAY_ERR_MEMBER_ALIVE',
      `${name} is alive: force-leave only removes failed (dead or suspect) members; to take a live node out, run \`hearsay leave\` on it`,
    );
  }
}

/** A data-dir file that cannot be read as what it should be; hearsay does not overwrite it. */
export class DamagedDataFileError extends HearsayError {
  readonly path: string;
  constructor(path: string, problem: string) {
    super(
      'HEARSAY_ERR_DATA_DIR_DAMAGED',
      `${path} is damaged (${problem}). It holds the registrations made through the API, so the agent does not start over it: ` +
        `restore it from a backup, or move it aside (mv ${path} ${path}.bad) to start without them`,
    );
    this.path = path;
  }
}

/** A change that could not be made durable in the data dir (a full disk, a read-only file system). */
export class PersistError extends HearsayError {
  readonly dir: string;
  constructor(dir: string, cause: unknown) {
    const errno = (cause as { cause?: NodeJS.ErrnoException } | undefined)?.cause?.code ?? (cause as NodeJS.ErrnoException | undefined)?.code;
    super(
      'HEARSAY_ERR_PERSIST',
      `the change could not be saved in the data dir ${dir} (${errno ?? String(cause)}), so it was not made: ` +
        'free space on that file system or make it writable, then retry',
      { cause },
    );
    this.dir = dir;
  }
}

/** A registration of a service this node's certificate does not allow (identity/spiffe.ts patterns). */
export class ServiceNotAllowedError extends HearsayError {
  constructor(service: string, node: string, allowed: readonly string[]) {
    super(
      'HEARSAY_ERR_SERVICE_NOT_ALLOWED',
      `this node's certificate (node "${node}") does not allow registering the service "${service}": it allows ${allowed.length === 0 ? 'no services' : allowed.join(', ')}; ` +
        `issue a certificate that names it (\`hearsay ca issue --node ${node} --services ${[...allowed, service].join(',')}\`) and reload the agent`,
    );
  }
}
