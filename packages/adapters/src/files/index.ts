export * from './key-file.js';
