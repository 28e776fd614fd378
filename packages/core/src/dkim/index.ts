export * from './tag-list.js';
export * from './signature.js';
export * from './key-record.js';
