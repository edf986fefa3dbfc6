export * from './config';
export * from './faults';
export * from './http';
export * from './loop';
export * from './record';
export * from './recorder';
export * from './shardHealth';
export * from './streams';
