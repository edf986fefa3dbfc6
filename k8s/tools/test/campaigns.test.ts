import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CampaignCalendar, CampaignConfigError, loadCampaignsFile } from '@coupons/campaign';
import { parseYamlObjects, ROOT, tempDir } from './support';

const CAMPAIGNS = join(ROOT, 'k8s/base/campaigns.json');

describe('the deployment campaigns file (k8s/base/campaigns.json)', () => {
  it('is what the service accepts at start, with a release calendar for every campaign', () => {
    const campaigns = loadCampaignsFile(CAMPAIGNS);
    expect(campaigns.length).toBeGreaterThan(0);
    for (const campaign of campaigns) {
      const calendar = new CampaignCalendar(campaign);
      expect(calendar.days.length).toBeGreaterThan(0);
      expect(calendar.days[0]!.slices[0]!.atMs).toBe(campaign.startsAt);
    }
  });

  it('holds the campaign the reconcile CronJob checks', () => {
    const cronJob = parseYamlObjects(
      readFileSync(join(ROOT, 'k8s/base/reconcile-cronjob.yaml'), 'utf8'),
      'reconcile-cronjob.yaml',
    )[0]!;
    const args = (
      cronJob['spec'] as {
        jobTemplate: { spec: { template: { spec: { containers: { args: string[] }[] } } } };
      }
    ).jobTemplate.spec.template.spec.containers[0]!.args;
    const id = args[args.indexOf('--campaign') + 1];
    expect(loadCampaignsFile(CAMPAIGNS).map((c) => c.id)).toContain(id);
  });

  it('would be refused, like any campaigns file, when broken', () => {
    const { dir, remove } = tempDir('campaigns-');
    try {
      const broken = join(dir, 'campaigns.json');
      const text = readFileSync(CAMPAIGNS, 'utf8').replace('"Asia/Shanghai"', '"Asia/Nowhere"');
      writeFileSync(broken, text);
      expect(() => loadCampaignsFile(broken)).toThrow(CampaignConfigError);
    } finally {
      remove();
    }
  });
});
