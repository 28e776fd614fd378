export * from './clock.js';
export * from './dns/index.js';
export * from './spf/index.js';
export * from './authres/index.js';
export * from './dkim/index.js';
export * from './message/index.js';
export * from './domain/index.js';
export * as arc from './arc/index.js';
export * from './dmarc/index.js';
