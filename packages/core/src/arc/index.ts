export * from './headers.js';
export * from './chain.js';
export * from './verify.js';
export * from './seal.js';
