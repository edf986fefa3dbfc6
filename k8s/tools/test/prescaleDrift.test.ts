import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkPrescaleFile, generatePrescaleFile, readGeneratedWith } from '../src';
import { describeWithKubectl, find, kustomize, ROOT, tempDir } from './support';

const COMMITTED = join(ROOT, 'k8s/base/prescale-triggers.yaml');

/** The settings a patch is made with here: 20 replicas from 10 min before a release to 30 after. */
const madeWith = (now: string, campaigns: string) => ({
  now: Date.parse(now),
  campaigns,
  leadMinutes: 10,
  holdMinutes: 30,
  replicas: 20,
  all: false,
});

describe('the committed pre-scaling patch', () => {
  const text = readFileSync(COMMITTED, 'utf8');
  const made = readGeneratedWith(text);

  it('was made from the base campaigns file by npm run k8s:prescale', () => {
    expect(made).toMatchObject({ campaigns: 'k8s/base/campaigns.json' });
  });

  it('is what the generator makes of the committed campaigns file (no drift)', () => {
    // As of the instant it records, so the test does not change its mind as days pass; whether
    // it has gone stale is `npm run k8s:prescale -- --check`'s question, asked before a deploy.
    expect(checkPrescaleFile(text, ROOT, made!.now)).toEqual([]);
  });
});

describe('the drift check', () => {
  let dir: string;
  let remove: () => void;
  const campaignsPath = 'k8s/base/campaigns.json';

  beforeEach(() => {
    ({ dir, remove } = tempDir('prescale-drift-'));
    mkdirSync(join(dir, 'k8s/base'), { recursive: true });
    copyFileSync(join(ROOT, campaignsPath), join(dir, campaignsPath));
  });
  afterEach(() => remove());

  const made = madeWith('2026-12-01T00:00:00Z', campaignsPath);

  it('fails when the campaigns file changed and the patch was not regenerated', () => {
    const { text } = generatePrescaleFile(dir, made);
    expect(checkPrescaleFile(text, dir, made.now)).toEqual([]);
    const campaigns = readFileSync(join(dir, campaignsPath), 'utf8');
    writeFileSync(
      join(dir, campaignsPath),
      campaigns.replace(
        '"startsAt": "2026-11-01T00:00:00+08:00"',
        '"startsAt": "2026-12-05T12:00:00+08:00"',
      ),
    );
    expect(checkPrescaleFile(text, dir, made.now)).toEqual([
      expect.stringMatching(/differs from what k8s\/base\/campaigns.json gives/),
    ]);
  });

  it('fails when the patch was edited by hand', () => {
    const { text } = generatePrescaleFile(dir, made);
    const edited = text.replace("desiredReplicas: '20'", "desiredReplicas: '40'");
    expect(edited).not.toBe(text);
    expect(checkPrescaleFile(edited, dir, made.now)).toHaveLength(1);
  });

  it('tells, asked later, that a campaign in the patch has ended', () => {
    const { text } = generatePrescaleFile(dir, made);
    expect(checkPrescaleFile(text, dir, Date.parse('2027-03-01T00:00:00+08:00'))).toEqual([
      expect.stringMatching(/spring-festival-2027, which has ended/),
    ]);
  });

  it('refuses a file it did not make', () => {
    expect(checkPrescaleFile('- op: test\n', dir, made.now)).toEqual([
      expect.stringMatching(/not made by npm run k8s:prescale/),
    ]);
  });
});

describeWithKubectl('the patch in the base kustomization', () => {
  let dir: string;
  let remove: () => void;
  beforeEach(() => {
    ({ dir, remove } = tempDir('prescale-base-'));
    cpSync(join(ROOT, 'k8s/base'), dir, { recursive: true });
  });
  afterEach(() => remove());

  const triggersOf = (objects: ReturnType<typeof kustomize>) =>
    (
      find(objects, 'ScaledObject', 'coupon-service')['spec'] as {
        triggers: { type: string; name?: string }[];
      }
    ).triggers;

  it('appends the cron triggers after the Prometheus ones', () => {
    const made = madeWith('2026-12-01T00:00:00Z', 'campaigns.json');
    const { text, results } = generatePrescaleFile(dir, made);
    writeFileSync(join(dir, 'prescale-triggers.yaml'), text);
    const triggers = triggersOf(kustomize(dir));
    const generated = results.flatMap((r) => r.triggers.map((t) => t.name));
    expect(generated.length).toBeGreaterThan(0);
    expect(triggers.map((t) => t.name)).toEqual(['demand', 'saturation', ...generated]);
  });

  it('builds with no window ahead, leaving the Prometheus triggers alone', () => {
    const made = madeWith('2031-01-01T00:00:00Z', 'campaigns.json');
    writeFileSync(join(dir, 'prescale-triggers.yaml'), generatePrescaleFile(dir, made).text);
    expect(triggersOf(kustomize(dir)).map((t) => t.name)).toEqual(['demand', 'saturation']);
  });
});
