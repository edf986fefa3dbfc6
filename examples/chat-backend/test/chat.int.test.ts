import { CouponClient } from '@coupons/client';
import { describeIfRedis } from '@coupons/testing';
import {
  KEYS,
  liveCampaign,
  useReadyService,
  uniqueId,
  type TestService,
} from '../../../services/coupon-service/test/support';
import { main, MISSING_KEY, playChat } from '../src';

describe('the example without a key', () => {
  it('says how to get one and exits 2, without a request', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main({}, { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
    expect(code).toBe(2);
    expect(err.join('')).toBe(MISSING_KEY);
    expect(MISSING_KEY).toContain('npm start');
    expect(MISSING_KEY).toContain('API_KEY=dev_… npm run example:chat');
    expect(out).toEqual([]);
  });
});

describeIfRedis('the example against the real service', () => {
  const campaign = liveCampaign(uniqueId('chat'), { perUser: { daily: 3, total: 21 } });
  let service: TestService;

  useReadyService((s) => (service = s), {
    clock: 'redis',
    campaigns: [campaign],
    env: { ADMISSION_EVENT_LOOP_DELAY_MS: '60000', USER_RATE_LIMIT: 'off' },
  });

  it('plays the turns and says what the bot would say', async () => {
    const client = new CouponClient({ baseUrl: service.base, apiKey: KEYS.all });
    const lines: string[] = [];
    try {
      expect(
        await playChat({ client, campaignId: campaign.id, runId: 't1', out: (l) => lines.push(l) }),
      ).toBe(true);
    } finally {
      await client.close();
    }
    const bot = lines.filter((l) => l.startsWith('bot > ')).map((l) => l.slice(6));
    const code = /券码 (\S{19})，/.exec(bot[0] ?? '')?.[1];
    expect(code).toBeDefined();
    expect(bot).toEqual([
      expect.stringMatching(/^领到了！券码 \S{19}，面值 25 元，.+（北京时间）前有效。$/),
      // The same message again: the same coupon.
      expect.stringContaining(`这张券你已经领到了：券码 ${code}，`),
      expect.stringMatching(
        /^Here you go: coupon \S{19}, ¥25 off, valid until .+ \(Beijing time\)\.$/,
      ),
      '已为订单 order-t1 抵扣 25 元。',
      expect.stringContaining(`订单已取消，券退回来了：券码 ${code}，`),
      expect.stringMatching(/^Your coupon \S{19}, ¥25 off, valid until /),
      expect.stringMatching(/^领到了！/),
      expect.stringMatching(/^领到了！/),
      expect.stringMatching(/^你今天已经领了 3 张券，(明天 )?00:00（北京时间）之后再来吧。$/),
    ]);
  });

  it('runs end to end from the environment, as npm run example:chat does', async () => {
    const out: string[] = [];
    const code = await main(
      { API_KEY: KEYS.all, BASE_URL: service.base, CAMPAIGN_ID: campaign.id },
      { stdout: (t) => out.push(t), stderr: (t) => out.push(t) },
    );
    expect(code).toBe(0);
    expect(out.join('')).toContain('小明 > 我要领券\nbot > 领到了！');
  });

  it('says what is wrong with a refused key or an unknown campaign', async () => {
    const err: string[] = [];
    const io = { stdout: () => undefined, stderr: (t: string) => err.push(t) };
    expect(
      await main({ API_KEY: 'wrong', BASE_URL: service.base, CAMPAIGN_ID: campaign.id }, io),
    ).toBe(1);
    expect(err.join('')).toMatch(/^UNAUTHENTICATED: .*is API_KEY the key/);
    err.length = 0;
    expect(await main({ API_KEY: KEYS.all, BASE_URL: service.base, CAMPAIGN_ID: 'nope' }, io)).toBe(
      1,
    );
    expect(err.join('')).toMatch(/^CAMPAIGN_NOT_FOUND: .*CAMPAIGN_ID/);
  });
});
