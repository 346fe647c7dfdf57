// One lint tool (ESLint + typescript-eslint). The block for the pure layers enforces DESIGN.md:
// src/membership, src/registry, src/wire, src/state and src/util do no I/O, read no clock, draw no randomness and
// import nothing from the runtime layers.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = [
  'fs', 'fs/promises', 'net', 'dgram', 'http', 'https', 'http2', 'dns', 'dns/promises', 'child_process',
  'cluster', 'worker_threads', 'os', 'tls', 'timers', 'timers/promises', 'perf_hooks', 'process', 'readline',
  'inspector', 'vm', 'crypto',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', Buffer: 'readonly', performance: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', queueMicrotask: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // bin/hearsay.js is CommonJS (bin/package.json): Node starts it without the ES module loader.
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', __dirname: 'readonly', __filename: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The web view (ui/): browser modules, served as they are.
    files: ['ui/**/*.js', 'bench/ui-probe.js'],
    languageOptions: {
      globals: {
        window: 'readonly', document: 'readonly', location: 'readonly', fetch: 'readonly', sessionStorage: 'readonly',
        requestAnimationFrame: 'readonly', MutationObserver: 'readonly', TextDecoderStream: 'readonly', HTMLElement: 'readonly', MouseEvent: 'readonly', Event: 'readonly',
      },
    },
  },
  {
    files: ['src/membership/**', 'src/registry/**', 'src/wire/**', 'src/util/**', 'src/state/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ioModules.flatMap((m) => [
          { name: m, message: 'pure layer: no I/O modules (see DESIGN.md)' },
          { name: `node:${m}`, message: 'pure layer: no I/O modules (see DESIGN.md)' },
        ]),
        patterns: [
          { group: ['**/agent/**', '**/transport/**', '**/cli/**', '**/sim/**'], message: 'pure layer: imports point one way (see DESIGN.md)' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'Date', message: 'pure layer: take `now` as an argument' },
        { name: 'performance', message: 'pure layer: take `now` as an argument' },
        { name: 'setTimeout', message: 'pure layer: return a schedule effect' },
        { name: 'setInterval', message: 'pure layer: return a schedule effect' },
        { name: 'setImmediate', message: 'pure layer: return a schedule effect' },
        { name: 'queueMicrotask', message: 'pure layer: return an effect' },
        { name: 'process', message: 'pure layer: no process access' },
        { name: 'fetch', message: 'pure layer: no I/O' },
        { name: 'crypto', message: 'pure layer: randomness and crypto are injected' },
      ],
      'no-restricted-properties': ['error',
        { object: 'Math', property: 'random', message: 'pure layer: use the injected Random' },
        { object: 'Date', property: 'now', message: 'pure layer: take `now` as an argument' },
      ],
    },
  },
);
