export * from './metrics';
export * from './promql';
export * from './rules';
export * from './dashboard';
export * from './render';
export * from './promtool';
export * from './localPrometheus';
