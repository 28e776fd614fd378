export * from './dns/index.js';
export * from './files/index.js';
export * from './store/index.js';
export * from './sources/index.js';
export * from './receivers/index.js';
export * from './enrich/offline-ip-database.js';
export * from './https/mta-sts-fetcher.js';
export * from './scan/scan-results.js';
