export * from './model.js';
export * from './parse/aggregate.js';
export * from './parse/unpack.js';
export * from './ports.js';
export * from './days.js';
export * from './services.js';
export * from './summary.js';
export * from './demo.js';
