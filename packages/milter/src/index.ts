export * from './inbound/decide.js';
export * from './settings.js';
export * from './policy/index.js';
