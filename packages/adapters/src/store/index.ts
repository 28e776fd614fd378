export * from './sqlite-store.js';
export * from './postgres-store.js';
