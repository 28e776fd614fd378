export * from './types.js';
export * from './name.js';
export * from './zone.js';
export * from './memory-resolver.js';
export * from './cache.js';
export * from './budget.js';
export * from './query-log.js';
