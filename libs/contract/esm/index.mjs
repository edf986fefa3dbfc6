// The ES module entry: the CommonJS build's exports, re-exported. One copy of the schemas either
// way, whether the caller imports or requires.
export * from '../dist/src/index.js';
