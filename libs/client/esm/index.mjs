// The ES module entry: the CommonJS build's exports, re-exported. One copy of the code either
// way, so a CouponClientError is the same class whether the caller imports or requires.
export * from '../dist/src/index.js';
