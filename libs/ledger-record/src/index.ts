export * from './events';
export * from './fault';
export * from './migrate';
export * from './record';
export * from './rebuild';
export * from './streams';
export * from './recordedLedger';
export * from './reconcile';
