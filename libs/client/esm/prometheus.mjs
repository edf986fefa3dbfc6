// The ES module entry of the Prometheus sink (see esm/index.mjs).
export * from '../dist/src/prometheus.js';
