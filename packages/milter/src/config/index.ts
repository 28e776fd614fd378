export { parseConfig } from './parse.js';
export type { ConfigParse, LocatedKeyFile, ParseConfigOptions } from './parse.js';
export type { MailwardConfig } from './resolve.js';
export type { ConfigError } from './errors.js';
export { formatConfigError } from './errors.js';
export * from './defaults.js';
export { configSections, summarizeConfig } from './summary.js';
