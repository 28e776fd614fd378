export * from './inbound/decide.js';
export * from './settings.js';
export * from './milter/index.js';
export * from './runtime/index.js';
