export * from './received-spf.js';
