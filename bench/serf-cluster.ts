/**
 * Serf alone through the comparison harness (bench/vs-serf.ts has the method and every output
 * key): N `serf agent -profile=lan` processes on 127.0.0.1, driven over Serf's RPC protocol.
 *
 *   npm run bench:serf -- --nodes N --runs K [--json] [--idle-seconds 30] [--poll-ms 100] ...
 */
import { main } from './vs-serf.js';

await main(
  'bench:serf',
  'npm run bench:serf -- --nodes N --runs K [--json] [--idle-seconds 30] [--poll-ms 100] [--step-timeout-seconds 60] [--serf-binary serf]',
  ['serf'],
);
