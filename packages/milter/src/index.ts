export * from './inbound/decide.js';
export * from './settings.js';
export * from './config/index.js';
export * from './runtime/config-file.js';
