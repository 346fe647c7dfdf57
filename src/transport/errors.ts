/** Errors the transport throws at a user: a listener that cannot bind. */
import { HearsayError } from '../errors.js';
import { formatHostPort } from './address.js';

/** The UDP or TCP listener could not bind. */
export class BindError extends HearsayError {
  readonly host: string;
  readonly port: number;
  constructor(host: string, port: number, cause: unknown) {
    const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
    const hint =
      errno === 'EADDRINUSE'
        ? 'another process (or agent) uses this port: pick another port with bind, or port 0 for a free one'
        : errno === 'EADDRNOTAVAIL'
          ? 'this machine has no such address: bind to one of its interface addresses, or 0.0.0.0'
          : errno === 'EACCES'
            ? 'ports below 1024 need privileges: use a higher port'
            : 'check the bind address';
    super('HEARSAY_ERR_BIND', `cannot listen on ${formatHostPort({ host, port })} (${errno ?? String(cause)}): ${hint}`, { cause });
    this.host = host;
    this.port = port;
  }
}
