export * from './model.js';
export * from './parse/aggregate.js';
export * from './parse/unpack.js';
