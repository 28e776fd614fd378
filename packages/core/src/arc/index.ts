export * from './headers.js';
export * from './verify.js';
