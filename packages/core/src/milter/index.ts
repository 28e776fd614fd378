export * from './constants.js';
export * from './frame.js';
export * from './commands.js';
export * from './encode-command.js';
export * from './replies.js';
export * from './negotiate.js';
export * from './session.js';
