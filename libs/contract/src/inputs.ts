import { z } from 'zod';

/**
 * What callers send, as the service validates it. Messages say what is allowed, never echo what
 * was sent.
 */

const required =
  (expected: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? 'is required' : `must be ${expected}`;

const ID_CHARS = 'A-Za-z0-9._-';
export const USER_ID_MAX = 64;
export const ORDER_ID_MAX = 128;
export const IDEMPOTENCY_KEY_MAX = 255;

const identifier = (max: number) =>
  z
    .string({ error: required('a string') })
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .regex(new RegExp(`^[${ID_CHARS}]+$`), 'may contain only letters, digits, ".", "_" and "-"');

/** A whole userId, valid or not in one test (the front door's check of X-User-Id). */
export const USER_ID_PATTERN = new RegExp(`^[${ID_CHARS}]{1,${USER_ID_MAX}}$`);

export const userIdSchema = identifier(USER_ID_MAX).meta({
  description: "the chat user's id in the caller's system",
  example: 'wx-7f3a9c',
});
export const orderIdSchema = identifier(ORDER_ID_MAX).meta({
  description: "the order's id in the caller's system: one redemption per order",
  example: 'order-20260210-0001',
});

export const orderAmountFenSchema = z
  .number({ error: required('a number of fen') })
  .superRefine((value, ctx) => {
    if (!Number.isInteger(value))
      ctx.addIssue({ code: 'custom', message: 'must be a whole number of fen' });
    else if (value < 0) ctx.addIssue({ code: 'custom', message: 'must not be negative' });
    else if (!Number.isSafeInteger(value))
      ctx.addIssue({
        code: 'custom',
        message: `must not exceed ${Number.MAX_SAFE_INTEGER} (Number.MAX_SAFE_INTEGER)`,
      });
  })
  .meta({
    type: 'integer',
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
    description: "the order's amount in fen (CNY 0.01)",
    example: 1999,
  });

/** 1-255 printable ASCII characters; no space at either end (HTTP would strip it anyway). */
export const idempotencyKeySchema = z
  .string({ error: required('a string') })
  .min(1, 'must not be empty')
  .max(IDEMPOTENCY_KEY_MAX, `must be at most ${IDEMPOTENCY_KEY_MAX} characters`)
  .regex(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/, 'may contain only printable ASCII characters')
  .meta({
    description:
      "one per logical claim (e.g. the chat message's id), the same on every retry of it; scoped to (campaign, userId), whichever API key sends it",
    example: 'chat-msg-8c1e2f',
  });

const bodyObject = { error: required('a JSON object') };

export const claimBodySchema = z
  .strictObject({ userId: userIdSchema }, bodyObject)
  .meta({ id: 'ClaimRequest', example: { userId: 'wx-7f3a9c' } });
export type ClaimBody = z.input<typeof claimBodySchema>;

export const redemptionBodySchema = z
  .strictObject(
    { userId: userIdSchema, orderId: orderIdSchema, orderAmountFen: orderAmountFenSchema },
    bodyObject,
  )
  .meta({
    id: 'RedemptionRequest',
    example: { userId: 'wx-7f3a9c', orderId: 'order-20260210-0001', orderAmountFen: 1999 },
  });
export type RedemptionBody = z.input<typeof redemptionBodySchema>;

export const campaignIdParam = z
  .string()
  .meta({ description: "the campaign's id", example: 'spring-festival-2027' });
export const couponCodeParam = z.string().meta({
  description:
    'the coupon code as issued (hyphens and lower case accepted); a mistyped code is caught by its check character (404)',
  example: '03WH-BXTY-1E96-SK6K',
});

export const isUserId = (value: string): boolean => USER_ID_PATTERN.test(value);
export const isOrderId = (value: string): boolean => orderIdSchema.safeParse(value).success;
export const isIdempotencyKey = (value: string): boolean =>
  idempotencyKeySchema.safeParse(value).success;
