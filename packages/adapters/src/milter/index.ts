export * from './listen-address.js';
export * from './server.js';
export * from './client.js';
