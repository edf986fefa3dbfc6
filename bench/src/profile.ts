/** The parts of a V8 .cpuprofile (node --cpu-prof) that self time needs. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  /** microseconds since the previous sample; timeDeltas[i] ends at samples[i] */
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  /** share of the time the process was not idle */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  byCategory: SelfTime[];
  byFunction: SelfTime[];
}

const SPECIAL = new Set(['(garbage collector)', '(program)', '(idle)', '(root)']);

/** Where a frame's code lives: a package, node itself, V8's own buckets, or this repository. */
export function categoryOf(functionName: string, url: string): string {
  if (SPECIAL.has(functionName) && url === '') return functionName;
  if (url === '') return '(native: V8 builtins, C++ bindings)';
  if (url.startsWith('node:')) return 'node core';
  const pkg = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (pkg !== undefined) return pkg.startsWith('@coupons/') ? pkg : `npm: ${pkg}`;
  const workspace = /\/((?:libs|services|loadtests)\/[^/]+|bench)\//.exec(url)?.[1];
  if (workspace !== undefined) return workspace;
  return 'other';
}

function shortUrl(url: string): string {
  const inPackage = /.*node_modules\/(.*)$/.exec(url)?.[1];
  if (inPackage !== undefined) return inPackage;
  const inRepo = /\/((?:libs|services|loadtests|bench)\/.*)$/.exec(url)?.[1];
  return inRepo ?? url.replace(/^file:\/\//, '');
}

/**
 * Self time by function and by category. A sample's time is the delta that follows it (the
 * interval during which that frame was on top of the stack), as Chrome DevTools counts it.
 */
export function summariseProfile(profile: CpuProfile, top = 15): ProfileSummary {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byFunction = new Map<string, number>();
  const byCategory = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i + 1] ?? 0;
    const frame = frames.get(id);
    if (frame === undefined) return;
    totalUs += us;
    const category = categoryOf(frame.functionName, frame.url);
    if (category === '(idle)') {
      idleUs += us;
      return;
    }
    const name = SPECIAL.has(frame.functionName)
      ? frame.functionName
      : `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    byCategory.set(category, (byCategory.get(category) ?? 0) + us);
  });
  const busyUs = totalUs - idleUs;
  const rank = (map: Map<string, number>, limit: number): SelfTime[] =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busyUs > 0 ? us / busyUs : 0 }));
  return {
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    byCategory: rank(byCategory, Number.MAX_SAFE_INTEGER),
    byFunction: rank(byFunction, top),
  };
}
