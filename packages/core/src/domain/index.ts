export * from './organizational.js';
