export * from './inbound/decide.js';
export * from './settings.js';
export * from './policy/index.js';
export * from './runtime/policy-server.js';
export * from './runtime/policy-service.js';
export * from './config/index.js';
export * from './runtime/config-file.js';
