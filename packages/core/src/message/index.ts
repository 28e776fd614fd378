export * from './header.js';
export * from './split.js';
export * from './author.js';
export * from './list-id.js';
