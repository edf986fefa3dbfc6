import { z } from 'zod';

/**
 * What the service answers. Every time is ISO-8601 with the campaign's offset; every amount is
 * whole fen (CNY 0.01). Objects are read leniently (a field added later is ignored by old callers).
 */

const isoTime = z
  .string()
  .refine((s) => /[T ]\d\d:\d\d/.test(s) && !Number.isNaN(Date.parse(s)), {
    message: 'must be an ISO-8601 time',
  })
  .meta({ format: 'date-time', example: '2026-02-10T12:30:00+08:00' });
const fen = z.number().int().nonnegative().meta({ description: 'whole fen (CNY 0.01)' });
const day = z.string().meta({ description: "a day in the campaign's zone", example: '2026-02-10' });

export const COUPON_STATUSES = ['issued', 'redeemed', 'expired'] as const;

export const couponSchema = z
  .object({
    code: z.string().min(1).meta({ example: '03WH-BXTY-1E96-SK6K' }),
    campaignId: z.string(),
    userId: z.string(),
    valueFen: fen,
    currency: z.string().meta({ example: 'CNY' }),
    status: z.enum(COUPON_STATUSES),
    issuedAt: isoTime,
    expiresAt: isoTime,
    trancheDay: day,
  })
  .meta({
    id: 'Coupon',
    example: {
      code: '03WH-BXTY-1E96-SK6K',
      campaignId: 'spring-festival-2027',
      userId: 'wx-7f3a9c',
      valueFen: 2500,
      currency: 'CNY',
      status: 'issued',
      issuedAt: '2026-02-10T12:30:00+08:00',
      expiresAt: '2026-02-28T23:59:59+08:00',
      trancheDay: '2026-02-10',
    },
  });
export type Coupon = z.output<typeof couponSchema>;
export type CouponStatus = Coupon['status'];

export const redemptionSchema = z
  .object({
    code: z.string().min(1),
    orderId: z.string(),
    discountFen: fen,
    redeemedAt: isoTime,
  })
  .meta({ id: 'Redemption' });
export type Redemption = z.output<typeof redemptionSchema>;

export const couponBodySchema = z.object({ coupon: couponSchema }).meta({ id: 'CouponAnswer' });
export const redemptionAnswerSchema = z
  .object({ redemption: redemptionSchema, coupon: couponSchema })
  .meta({ id: 'RedemptionAnswer' });

export const CAMPAIGN_STATUSES = ['scheduled', 'running', 'ended'] as const;

export const campaignSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    currency: z.string(),
    status: z.enum(CAMPAIGN_STATUSES),
    poolFen: fen,
    couponValueFen: fen,
    minOrderFen: fen,
    timeZone: z.string().meta({ example: 'Asia/Shanghai' }),
    startsAt: isoTime,
    endsAt: isoTime,
    couponExpiresAt: isoTime,
    perUser: z.object({ daily: z.number().int(), total: z.number().int() }),
    release: z.object({
      slicesPerDay: z.number().int(),
      rollover: z.boolean(),
      releasedFen: fen,
      unreleasedFen: fen,
      nextReleaseAt: isoTime.nullable(),
      today: z
        .object({
          day,
          trancheFen: fen,
          releasedFen: fen,
          slicesReleased: z.number().int(),
          slices: z.number().int(),
        })
        .nullable(),
      tranches: z.array(z.object({ day, trancheFen: fen, firstReleaseAt: isoTime.nullable() })),
    }),
    asOf: isoTime,
  })
  .meta({ id: 'Campaign' });
export type Campaign = z.output<typeof campaignSchema>;
export const campaignBodySchema = z
  .object({ campaign: campaignSchema })
  .meta({ id: 'CampaignAnswer' });

export const SHARD_STATES = ['ok', 'missing', 'rolled_back'] as const;

export const budgetSchema = z
  .object({
    campaignId: z.string(),
    currency: z.string(),
    poolFen: fen,
    releasedFen: fen,
    issuedFen: fen.nullable().meta({ description: 'null while a shard is lost or rolled back' }),
    remainingFen: z.number().int().nullable(),
    unreleasedFen: fen,
    today: z
      .object({ day, trancheFen: fen, releasedFen: fen, issuedFen: fen.nullable() })
      .nullable(),
    nextReleaseAt: isoTime.nullable(),
    asOf: isoTime,
    shards: z.array(
      z.object({
        shard: z.number().int(),
        state: z.enum(SHARD_STATES),
        releasedFen: fen,
        issuedFen: fen.nullable(),
        remainingFen: z.number().int().nullable(),
      }),
    ),
    unknownShards: z.array(z.object({ shard: z.number().int(), reason: z.string() })),
  })
  .meta({ id: 'Budget' });
export type Budget = z.output<typeof budgetSchema>;

export const healthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });

export const readinessSchema = z
  .object({
    ready: z.boolean(),
    checks: z.object({
      redis: z.enum(['ok', 'unreachable']),
      campaigns: z.enum(['ok', 'none']),
      draining: z.boolean(),
    }),
  })
  .meta({
    id: 'Readiness',
    example: { ready: true, checks: { redis: 'ok', campaigns: 'ok', draining: false } },
  });
export type Readiness = z.output<typeof readinessSchema>;
