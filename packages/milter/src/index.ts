export * from './inbound/decide.js';
export * from './settings.js';
