import { stopPid } from '../server';
import { takeState } from './state';

/** Stops what globalSetup started (by pid); falls back to stopPid on each pid if a stop fails. */
export default async function globalTeardown(): Promise<void> {
  const state = takeState();
  if (state === undefined) return;
  const results = await Promise.allSettled([state.standalone.stop(), state.cluster.stop()]);
  if (results.every((r) => r.status === 'fulfilled')) return;
  await Promise.all(state.pids.map((pid) => stopPid(pid, { graceMs: 1000 })));
}
