import { findExecutableOnPath, findFreePort } from '@coupons/redis-local';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { stringify } from 'yaml';

/** What to tell someone whose machine has no Prometheus server. */
export const PROMETHEUS_INSTALL_HINT =
  "prometheus is not on PATH: install Debian's prometheus package (`apt-get install prometheus`) " +
  'or put the prometheus of a release on PATH.';

/** What to tell someone whose machine has no Pushgateway. */
export const PUSHGATEWAY_INSTALL_HINT =
  "prometheus-pushgateway is not on PATH: install Debian's package (`apt-get install prometheus-pushgateway`).";

/** One scrape job of the local Prometheus: static targets, each with its labels. */
export interface LocalScrapeJob {
  job: string;
  targets: readonly { address: string; labels?: Readonly<Record<string, string>> }[];
  /** Keep the labels the target exports (a Pushgateway's job and instance, kube-state-metrics' namespace). */
  honorLabels?: boolean;
}

export interface LocalPrometheusOptions {
  jobs: readonly LocalScrapeJob[];
  /** Absolute paths of rule files to load. */
  ruleFiles?: readonly string[];
  /** Scrape and rule evaluation interval. Default 1 s: a test has seconds, not minutes. */
  intervalSeconds?: number;
}

/** A sample of an instant query: its labels and value (NaN and ±Inf included). */
export interface PromSample {
  labels: Record<string, string>;
  value: number;
}

/** The answer of Prometheus's /api/v1/query: a vector's samples, or a scalar as one sample. */
export interface PromAnswer {
  resultType: 'vector' | 'scalar' | 'matrix' | 'string';
  samples: PromSample[];
}

/** Prometheus refused a query (bad_data for a parse error, execution, timeout...). */
export class PromQueryError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

export interface LocalServer {
  url: string;
  stop(): Promise<void>;
}

export interface LocalPrometheus extends LocalServer {
  /** An instant query at `atSeconds` (Unix seconds; default now). */
  query(expr: string, atSeconds?: number): Promise<PromAnswer>;
  /** Polls until every scrape target of the jobs is up (or throws after `timeoutMs`). */
  waitForTargets(timeoutMs?: number): Promise<void>;
}

/**
 * A Prometheus server of the caller's own on 127.0.0.1 (a free port, a temporary TSDB removed by
 * stop()), scraping the given static targets and evaluating the given rule files. Resolves once
 * it is ready; on failure nothing is left running and the error carries the server's log tail.
 */
export async function startLocalPrometheus(
  options: LocalPrometheusOptions,
): Promise<LocalPrometheus> {
  const interval = `${options.intervalSeconds ?? 1}s`;
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: options.jobs.map((job) => ({
      job_name: job.job,
      honor_labels: job.honorLabels === true,
      static_configs: job.targets.map((target) => ({
        targets: [target.address],
        labels: target.labels ?? {},
      })),
    })),
  };
  const server = await startLocalServer({
    program: 'prometheus',
    hint: PROMETHEUS_INSTALL_HINT,
    files: { 'prometheus.yml': stringify(config) },
    args: (dir, address) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=${address}`,
      '--log.level=warn',
    ],
  });
  const query = async (expr: string, atSeconds?: number): Promise<PromAnswer> => {
    const params = new URLSearchParams({ query: expr });
    if (atSeconds !== undefined) params.set('time', atSeconds.toFixed(3));
    const response = await fetch(`${server.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: params,
    });
    const body = (await response.json()) as {
      status: string;
      errorType?: string;
      error?: string;
      data?: { resultType: PromAnswer['resultType']; result: unknown };
    };
    if (body.status !== 'success' || body.data === undefined)
      throw new PromQueryError(body.errorType ?? 'unknown', `${expr}: ${body.error ?? 'no data'}`);
    return { resultType: body.data.resultType, samples: samplesOf(body.data) };
  };
  const waitForTargets = async (timeoutMs = 15_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const response = await fetch(`${server.url}/api/v1/targets?state=active`);
      const { data } = (await response.json()) as {
        data: { activeTargets: { health: string; scrapeUrl: string; lastError: string }[] };
      };
      const down = data.activeTargets.filter((t) => t.health !== 'up');
      const expected = options.jobs.reduce((n, job) => n + job.targets.length, 0);
      if (down.length === 0 && data.activeTargets.length === expected) return;
      if (Date.now() > deadline)
        throw new Error(
          `targets not up within ${timeoutMs} ms: ${down.map((t) => `${t.scrapeUrl} (${t.lastError || 'not scraped yet'})`).join(', ')}`,
        );
      await delay(100);
    }
  };
  return { ...server, query, waitForTargets };
}

/** A Pushgateway of the caller's own on 127.0.0.1 (no persistence), ready when resolved. */
export function startLocalPushgateway(): Promise<LocalServer> {
  return startLocalServer({
    program: 'prometheus-pushgateway',
    hint: PUSHGATEWAY_INSTALL_HINT,
    files: {},
    args: (_dir, address) => [`--web.listen-address=${address}`, '--log.level=warn'],
  });
}

function samplesOf(data: { resultType: PromAnswer['resultType']; result: unknown }): PromSample[] {
  const number = (text: string): number => Number(text.replace(/^\+?Inf$/, 'Infinity'));
  if (data.resultType === 'scalar') {
    const [, value] = data.result as [number, string];
    return [{ labels: {}, value: number(value) }];
  }
  if (data.resultType === 'vector')
    return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map(
      (sample) => ({ labels: sample.metric, value: number(sample.value[1]) }),
    );
  throw new Error(`instant query answered a ${data.resultType}`);
}

const START_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
const LOG_TAIL_CHARS = 4_000;

interface ServerSpec {
  program: string;
  hint: string;
  /** Files written into the server's temporary directory before it starts. */
  files: Record<string, string>;
  args: (dir: string, address: string) => string[];
}

/** Starts `program` on a free loopback port and waits for its /-/ready. */
async function startLocalServer(spec: ServerSpec): Promise<LocalServer> {
  const binary = findExecutableOnPath(spec.program);
  if (binary === undefined) throw new Error(spec.hint);
  const dir = mkdtempSync(join(tmpdir(), `${spec.program}-`));
  for (const [name, text] of Object.entries(spec.files)) writeFileSync(join(dir, name), text);
  const address = `127.0.0.1:${await findFreePort()}`;
  let log = '';
  const child = spawn(binary, spec.args(dir, address), { stdio: ['ignore', 'pipe', 'pipe'] });
  const keepTail = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-LOG_TAIL_CHARS);
  };
  child.stdout.on('data', keepTail);
  child.stderr.on('data', keepTail);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A test that dies without stop() must not leave a server behind.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      process.off('exit', killOnExit);
      await terminate(child, exited);
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const url = `http://${address}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`${spec.program} exited during start:\n${log}`);
    }
    try {
      if ((await fetch(`${url}/-/ready`)).ok) return { url, stop };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${spec.program} not ready within ${START_TIMEOUT_MS} ms:\n${log}`);
    }
    await delay(50);
  }
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const grace = new AbortController();
  const late = delay(STOP_GRACE_MS, 'late' as const, { signal: grace.signal }).catch(
    () => 'gone' as const,
  );
  const outcome = await Promise.race([exited.then(() => 'gone' as const), late]);
  grace.abort();
  if (outcome === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
}
