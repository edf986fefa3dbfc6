// The Redis client both deployables use lives in @coupons/runtime; the service's modules name it
// from here.
export {
  createRedisClient,
  redisAnswers,
  type RedisClient,
  type RedisTarget,
} from '@coupons/runtime';
