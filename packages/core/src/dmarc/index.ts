export * from './record.js';
export * from './discover.js';
export * from './evaluate.js';
export * from './report-destinations.js';
