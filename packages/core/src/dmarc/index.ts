export * from './record.js';
export * from './discover.js';
export * from './evaluate.js';
export * from './report-destinations.js';
export * from './overrides.js';
export * from './local-policy.js';
