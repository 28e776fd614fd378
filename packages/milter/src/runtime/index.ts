export * from './milter-service.js';
export * from './metrics.js';
export * from './logger.js';
export * from './keys.js';
export * from './internal-hosts.js';
export * from './local-policy-document.js';
