export * from './request-decoder.js';
export * from './reply-encoder.js';
export * from './query.js';
export * from './networks.js';
export * from './instance-cache.js';
export * from './plan.js';
export * from './decide.js';
export * from './evaluate.js';
