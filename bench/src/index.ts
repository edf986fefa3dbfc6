// The bench is a program (src/run.ts); these are its pure parts, for tests and for reuse.
export { spread, ratio, type Spread } from './stats';
export { summariseProfile, categoryOf, type CpuProfile, type ProfileSummary } from './profile';
export { chartSpec, type ChartPoint } from './chart';
