/**
 * hearsay alone through the comparison harness (bench/vs-serf.ts has the method and every output
 * key): N real agent processes on 127.0.0.1, from the build.
 *
 *   npm run bench:cluster -- --nodes N --runs K [--json] [--idle-seconds 30] [--poll-ms 100] ...
 */
import { main } from './vs-serf.js';

await main(
  'bench:cluster',
  'npm run bench:cluster -- --nodes N --runs K [--json] [--idle-seconds 30] [--poll-ms 100] [--step-timeout-seconds 60] [--hearsay-entry bin/hearsay.js]',
  ['hearsay'],
);
