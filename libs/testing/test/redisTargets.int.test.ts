import type { Cluster, Redis } from 'ioredis';
import { describeWithRedis } from '../src/redisTargets';

/** Moves ARGV[1] from KEYS[1] to KEYS[2] if KEYS[1] holds that much; returns KEYS[2]'s new value, or -1. */
const MOVE_IF_ENOUGH = `
local have = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = tonumber(ARGV[1])
if have < n then return -1 end
redis.call('DECRBY', KEYS[1], n)
return redis.call('INCRBY', KEYS[2], n)
`;

type WithMove = (Redis | Cluster) & {
  moveIfEnough(from: string, to: string, n: number): Promise<number>;
};

function withMove(client: Redis | Cluster): WithMove {
  client.defineCommand('moveIfEnough', { numberOfKeys: 2, lua: MOVE_IF_ENOUGH });
  return client as WithMove;
}

describeWithRedis('redis-local smoke', (target) => {
  let client: WithMove;

  beforeAll(() => {
    client = withMove(target.connect());
  });

  it('runs a defineCommand Lua script on two keys sharing a hash tag', async () => {
    const from = `${target.keyPrefix}{acct}:from`;
    const to = `${target.keyPrefix}{acct}:to`;
    await client.set(from, '10');

    await expect(client.moveIfEnough(from, to, 3)).resolves.toBe(3);
    await expect(client.moveIfEnough(from, to, 8)).resolves.toBe(-1);
    await expect(client.moveIfEnough(from, to, 7)).resolves.toBe(10);
    await expect(client.get(from)).resolves.toBe('0');
    await expect(client.get(to)).resolves.toBe('10');
  });

  if (target.mode === 'cluster') {
    it('rejects the script on keys in different slots with Redis CROSSSLOT', async () => {
      const from = `${target.keyPrefix}from`;
      let to = `${target.keyPrefix}to`;
      const slot = (key: string): Promise<number> =>
        client.cluster('KEYSLOT', key) as Promise<number>;
      for (let i = 0; (await slot(to)) === (await slot(from)); i++) {
        to = `${target.keyPrefix}to${i}`;
      }
      await client.set(from, '10');

      // Redis's own reply (ioredis routes by the first key and does not check slots itself).
      await expect(client.moveIfEnough(from, to, 3)).rejects.toMatchObject({
        name: 'ReplyError',
        message: expect.stringMatching(/^CROSSSLOT/),
      });
      await expect(client.get(from)).resolves.toBe('10');
    });
  }
});
