export * from './inbound/decide.js';
