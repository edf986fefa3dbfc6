export * from './events';
export * from './fault';
export * from './migrate';
export * from './record';
