export * from './finding.js';
export * from './spf.js';
export * from './dmarc.js';
export * from './check.js';
export * from './dkim.js';
export * from './mx.js';
export * from './policy-records.js';
export * from './mta-sts.js';
