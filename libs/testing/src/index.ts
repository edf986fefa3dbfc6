export * from './campaigns';
export * from './polling';
export * from './redis';
export * from './redisTargets';
export * from './executables';
export * from './postgres';
export * from './random';
