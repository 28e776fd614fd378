export * from './inbound/decide.js';
export * from './settings.js';
export * from './exim/index.js';
export * from './runtime/exim-server.js';
