export * from './received-spf.js';
export * from './authentication-results.js';
