export * from './tag-list.js';
export * from './signature.js';
export * from './key-record.js';
export * from './canonicalize.js';
export * from './body-canonicalizer.js';
export * from './body-hash.js';
