/** The parts of a V8 .cpuprofile (node --cpu-prof) that self time needs. */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
    /** the ids of the frames this one called (the tree's edges; the first node is the root) */
    children?: number[];
  }[];
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
  // The last match: the checkout's own path may contain "bench/" or "libs/" too.
  const workspace = /.*\/((?:libs|services|loadtests)\/[^/]+|bench)\//.exec(url)?.[1];
  if (workspace !== undefined) return workspace;
  return 'other';
}

function shortUrl(url: string): string {
  const inPackage = /.*node_modules\/(.*)$/.exec(url)?.[1];
  if (inPackage !== undefined) return inPackage;
  const inRepo = /.*\/((?:libs|services|loadtests|bench)\/.*)$/.exec(url)?.[1];
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

/** The parts of speedscope's file format (https://www.speedscope.app/file-format-schema.json) written here. */
export interface SpeedscopeFile {
  $schema: 'https://www.speedscope.app/file-format-schema.json';
  name: string;
  exporter: string;
  activeProfileIndex: 0;
  shared: { frames: { name: string; file?: string; line?: number; col?: number }[] };
  profiles: {
    type: 'sampled';
    name: string;
    unit: 'microseconds';
    startValue: 0;
    endValue: number;
    /** each sample's stack, outermost frame first, as indexes into shared.frames */
    samples: number[][];
    weights: number[];
  }[];
}

/**
 * The profile as a flame graph for speedscope: each sample's whole stack, weighted by the
 * interval that follows it (as summariseProfile counts self time). Idle samples are left out, so
 * the graph is the busy time; (program) and (garbage collector) stay.
 */
export function toSpeedscope(profile: CpuProfile, name: string): SpeedscopeFile {
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const frames: SpeedscopeFile['shared']['frames'] = [];
  const frameIndex = new Map<string, number>();
  const frameOf = (id: number): number | undefined => {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined || frame.functionName === '(root)') return undefined;
    const key = `${frame.functionName}\u0000${frame.url}\u0000${frame.lineNumber}\u0000${frame.columnNumber ?? -1}`;
    let index = frameIndex.get(key);
    if (index === undefined) {
      index = frames.length;
      frameIndex.set(key, index);
      frames.push({
        name: frame.functionName || '(anonymous)',
        ...(frame.url === '' ? {} : { file: shortUrl(frame.url), line: frame.lineNumber + 1 }),
        ...(frame.url === '' || frame.columnNumber === undefined
          ? {}
          : { col: frame.columnNumber + 1 }),
      });
    }
    return index;
  };
  const stacks = new Map<number, number[]>();
  const stackOf = (id: number): number[] => {
    const known = stacks.get(id);
    if (known !== undefined) return known;
    const up = parent.get(id);
    const own = frameOf(id);
    const stack = [...(up === undefined ? [] : stackOf(up)), ...(own === undefined ? [] : [own])];
    stacks.set(id, stack);
    return stack;
  };
  const samples: number[][] = [];
  const weights: number[] = [];
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (us <= 0 || byId.get(id)?.callFrame.functionName === '(idle)') return;
    samples.push(stackOf(id));
    weights.push(us);
  });
  return {
    $schema: 'https://www.speedscope.app/file-format-schema.json',
    name,
    exporter: 'npm run bench',
    activeProfileIndex: 0,
    shared: { frames },
    profiles: [
      {
        type: 'sampled',
        name,
        unit: 'microseconds',
        startValue: 0,
        endValue: weights.reduce((sum, w) => sum + w, 0),
        samples,
        weights,
      },
    ],
  };
}
