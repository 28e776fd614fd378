export * from './dns/index.js';
export * from './files/index.js';
