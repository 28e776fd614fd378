// Lint rules, including the layer rules of ARCHITECTURE.md: core (pure protocol code) may not
// touch the network, the file system, processes, the console or fetch.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = [
  'fs',
  'net',
  'dgram',
  'dns',
  'http',
  'https',
  'http2',
  'tls',
  'child_process',
  'os',
  'worker_threads',
];
const bannedIo = ioModules.flatMap((name) => [name, `node:${name}`, `${name}/promises`, `node:${name}/promises`]);

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['packages/core/src/**/*.ts', 'packages/reports/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: bannedIo.map((name) => ({ name, message: 'core is pure: do I/O in @mailward/adapters' })),
          patterns: [
            {
              group: ['@mailward/adapters', '@mailward/adapters/*', 'mailward'],
              message: 'dependencies point one way: core never imports adapters or cli',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'core is pure: pass configuration in' },
        { name: 'console', message: 'core is pure: return data, let the front end print' },
        { name: 'fetch', message: 'core is pure: fetch in an adapter' },
      ],
      'no-console': 'error',
    },
  },
  {
    // @mailward/milter: the pipeline and the wire codecs are pure like core; only src/runtime/
    // (sockets, signals, key files, metrics over HTTP) does I/O, as adapters does.
    files: ['packages/milter/src/**/*.ts'],
    ignores: ['packages/milter/src/runtime/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: bannedIo.map((name) => ({ name, message: 'pure milter code: do I/O in packages/milter/src/runtime' })),
          patterns: [{ group: ['mailward', 'mailward/*'], message: 'the milter package never imports the cli' }],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'pure milter code: pass configuration in' },
        { name: 'console', message: 'pure milter code: return data, let the runtime log' },
        { name: 'fetch', message: 'pure milter code: fetch in the runtime' },
      ],
    },
  },
  {
    files: ['packages/milter/src/runtime/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', { name: 'console', message: 'the runtime logs through its logger' }],
    },
  },
  {
    files: ['packages/adapters/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['mailward', 'mailward/*'], message: 'adapters never import the cli' }] },
      ],
      'no-restricted-globals': ['error', { name: 'console', message: 'adapters return data; the cli prints' }],
    },
  },
  {
    files: ['scripts/**/*.mjs', 'packages/cli/bin/*.js', 'eslint.config.js'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', fetch: 'readonly', AbortSignal: 'readonly' },
    },
  },
);
