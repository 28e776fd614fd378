export * from './header.js';
export * from './split.js';
