export * from './types.js';
export * from './record.js';
export * from './macro.js';
export { parseClientIp, reverseName, ipText } from './ip.js';
export type { IpAddress } from './ip.js';
export { checkHost, checkMailFrom, checkHelo, SpfInputError } from './check.js';
export type { SpfOptions, CheckHostInput } from './check.js';
export { lookupRecord } from './lookup-record.js';
export type { RecordLookup } from './lookup-record.js';
