export * from './prescale';
export * from './prescaleFile';
