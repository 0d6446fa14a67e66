// The seamlab library API: one export per pipeline stage's public surface.
export * from './errors.js';
export * from './machine/unicorn.js';
export * from './machine/unicorn-consts.js';
export * from './encode/keystone.js';
export * from './encode/capstone.js';
export * from './intake/kernel-cache.js';
export * from './intake/vfs.js';
export * from './intake/types.js';
export * from './intake/revision.js';
export * from './intake/c-layout.js';
export * from './intake/discover.js';
export { parsePrototype } from './intake/c-decl.js';
