export * from './files.js';
export * from './mbox.js';
export * from './maildir.js';
export * from './imap.js';
