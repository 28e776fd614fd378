export * from './headers.js';
export * from './verify.js';
export * from './seal.js';
