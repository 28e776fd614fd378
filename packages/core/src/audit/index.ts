export * from './finding.js';
export * from './spf.js';
export * from './dmarc.js';
export * from './check.js';
export * from './dkim.js';
