export * from './record.js';
export * from './discover.js';
