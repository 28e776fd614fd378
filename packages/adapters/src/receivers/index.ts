export * from './smtp.js';
export * from './https.js';
