export * from './inbound/decide.js';
export * from './inbound/verdict-record.js';
export * from './settings.js';
export * from './config/index.js';
export * from './runtime/config-file.js';
export * from './exim/index.js';
export * from './runtime/exim-server.js';
