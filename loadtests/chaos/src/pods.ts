import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { API_SCOPES } from '@coupons/contract';
import { findFreePort } from '@coupons/redis-local';
import type { CampaignInput } from '@coupons/testing';
import { until } from '@coupons/testing';

/** The repository root, from the sources (tests) or from dist (the CLI) alike. */
function repoRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir))
    if (existsSync(join(dir, 'services', 'coupon-service', 'package.json'))) return dir;
  throw new Error(`no repository root above ${from}`);
}

const REPO_ROOT = repoRoot(__dirname);
const SERVICE_MAIN = join(REPO_ROOT, 'services/coupon-service/dist/src/main.js');
/** The built entry points the chaos runs start as processes. */
export const MAINS = {
  service: SERVICE_MAIN,
  recorder: join(REPO_ROOT, 'services/coupon-recorder/dist/src/main.js'),
  ledgerInit: join(REPO_ROOT, 'services/coupon-service/dist/src/cli/ledger-init.js'),
} as const;

/** What every pod of one fleet shares: campaigns, API key, Redis and extra settings. */
export interface FleetSettings {
  campaigns: readonly CampaignInput[];
  /** REDIS_URL or REDIS_CLUSTER_NODES, and anything else (REDIS_WAIT_REPLICAS...). */
  env: Record<string, string>;
}

/**
 * The coupon service as its built main.js, one child process per pod: what a Kubernetes pod runs,
 * so a pod can be killed and restarted like one. Nothing of the service is imported in-process.
 */
export class Fleet {
  readonly apiKey = randomBytes(16).toString('hex');
  private readonly dir = mkdtempSync(join(tmpdir(), 'coupons-chaos-'));
  private readonly pods: ServicePod[] = [];

  constructor(private readonly settings: FleetSettings) {
    if (!existsSync(SERVICE_MAIN))
      throw new Error(`${SERVICE_MAIN} is missing: run \`npm run build\` first (npm test does)`);
    writeFileSync(
      join(this.dir, 'campaigns.json'),
      JSON.stringify({ campaigns: settings.campaigns }),
    );
    writeFileSync(
      join(this.dir, 'keys.json'),
      JSON.stringify([
        {
          id: 'chaos',
          sha256: createHash('sha256').update(this.apiKey).digest('hex'),
          scopes: API_SCOPES,
        },
      ]),
    );
  }

  /** What every process of the fleet reads: the campaigns, the keys, Redis and the rest. */
  get env(): Record<string, string> {
    return {
      // The test Redis servers keep no append-only file, which production refuses.
      NODE_ENV: 'test',
      CAMPAIGNS_FILE: join(this.dir, 'campaigns.json'),
      COUPON_API_KEYS_FILE: join(this.dir, 'keys.json'),
      LOG_LEVEL: 'warn',
      ...this.settings.env,
    };
  }

  /** Starts `count` pods and waits until each is ready. */
  async start(count: number): Promise<ServicePod[]> {
    const started = await Promise.all(
      Array.from({ length: count }, () => ServicePod.start(this.env)),
    );
    this.pods.push(...started);
    return started;
  }

  get running(): ServicePod[] {
    return this.pods.filter((pod) => pod.alive);
  }

  /** Every pod SIGKILLed (a node lost), then `count` fresh ones started. */
  async restartAll(count = this.pods.length): Promise<ServicePod[]> {
    await Promise.all(this.pods.splice(0).map((pod) => pod.kill('SIGKILL')));
    return this.start(count);
  }

  async stop(): Promise<void> {
    await Promise.all(this.pods.splice(0).map((pod) => pod.kill('SIGTERM')));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class ServicePod {
  private exited: Promise<void>;
  alive = true;

  private constructor(
    private readonly child: ChildProcess,
    readonly base: string,
    readonly metricsBase: string,
    private readonly output: () => string,
  ) {
    this.exited = new Promise((done) =>
      child.once('exit', () => {
        this.alive = false;
        done();
      }),
    );
  }

  /** A service pod: PORT and METRICS_PORT on free ports, ready when /readyz says so. */
  static async start(env: Record<string, string>): Promise<ServicePod> {
    const [port, metricsPort] = [await findFreePort(), await findFreePort()];
    return ServicePod.spawn(
      SERVICE_MAIN,
      { PORT: String(port), METRICS_PORT: String(metricsPort), ...env },
      `http://127.0.0.1:${port}`,
      `http://127.0.0.1:${metricsPort}`,
    );
  }

  /** A recorder: its metrics port free, ready when it answers /healthz. */
  static async startRecorder(env: Record<string, string>): Promise<ServicePod> {
    const metricsPort = await findFreePort();
    const base = `http://127.0.0.1:${metricsPort}`;
    return ServicePod.spawn(
      MAINS.recorder,
      {
        RECORDER_METRICS_PORT: String(metricsPort),
        METRICS_HOST: '127.0.0.1',
        ...env,
      },
      base,
      base,
      '/healthz',
    );
  }

  private static async spawn(
    main: string,
    env: Record<string, string>,
    base: string,
    metricsBase: string,
    readyPath = '/readyz',
  ): Promise<ServicePod> {
    if (!existsSync(main))
      throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
    const child = spawn(process.execPath, [main], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const pod = new ServicePod(child, base, metricsBase, () => output);
    try {
      await until(
        'the pod ready',
        async () => {
          if (!pod.alive) throw new Error(`the pod exited while starting:\n${output}`);
          const status = await fetch(`${pod.base}${readyPath}`).then(
            (res) => res.status,
            () => 0,
          );
          return status === 200 ? true : undefined;
        },
        20_000,
      );
    } catch (err) {
      await pod.kill('SIGKILL');
      throw err;
    }
    return pod;
  }

  /** The pod's recent log (stdout and stderr), for a failure's message. */
  log(): string {
    return this.output();
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (!this.alive) return;
    this.child.kill(signal);
    await this.exited;
  }
}

/** Runs a built CLI (ledger:init, reconcile) to its end: exit code and output. */
export function runCli(
  main: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [main, ...args],
      { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        done({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}
