export * from './key-file.js';
export * from './local-policy-file.js';
export * from './system-errors.js';
