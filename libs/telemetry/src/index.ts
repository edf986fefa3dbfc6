export * from './logger';
export * from './metrics';
export * from './admissionMetrics';
export * from './labels';
export * from './recorderMetrics';
