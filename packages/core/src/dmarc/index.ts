export * from './record.js';
export * from './discover.js';
export * from './evaluate.js';
