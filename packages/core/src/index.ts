export * from './clock.js';
export * from './dns/index.js';
