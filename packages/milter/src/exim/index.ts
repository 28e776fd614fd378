export * from './request.js';
export * from './reply.js';
export * from './check.js';
export * from './listen.js';
