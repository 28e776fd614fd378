export * from './wants.js';
export * from './pipeline.js';
export * from './signing.js';
export * from './header-fields.js';
export * from './edits.js';
export * from './handler.js';
