export * from './prescale';
export * from './prescaleFile';
export * from './validateModels';
