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
