import type { LocalClusterHandle } from '../cluster';
import type { RedisServerHandle } from '../server';

/** What globalSetup leaves on globalThis for globalTeardown (both run in the jest parent). */
export interface RedisLocalJestState {
  standalone: RedisServerHandle;
  cluster: LocalClusterHandle;
  /** Every redis-server pid, for stopPid if a handle's stop() fails. */
  pids: number[];
}

const KEY = '__couponsRedisLocalJest';

type Holder = { [KEY]?: RedisLocalJestState };

export function saveState(state: RedisLocalJestState): void {
  (globalThis as Holder)[KEY] = state;
}

export function takeState(): RedisLocalJestState | undefined {
  const holder = globalThis as Holder;
  const state = holder[KEY];
  delete holder[KEY];
  return state;
}
