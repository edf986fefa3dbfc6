import type { ClaimResult, CouponResult, RedeemResult, ReverseResult, Transient } from './outcomes';
import type { Coupon } from './wire';

/**
 * What a chatbot can say for every outcome, in zh-CN and en: concrete times in the campaign's
 * time zone (named for people), the user's limits, and what to do next. Pure functions of the
 * outcome and the context; `now` only decides "today" / "tomorrow".
 */

export type Locale = 'zh-CN' | 'en';
export const LOCALES: readonly Locale[] = ['zh-CN', 'en'];

export interface MessageContext {
  locale: Locale;
  /** The campaign's IANA time zone (GET /v1/campaigns/{id} has it): times are said in it. */
  timeZone: string;
  /** Epoch ms; decides whether a moment is today or tomorrow. Default Date.now(). */
  now?: number;
  /** The campaign's per-user limits, so the user hears the numbers. */
  perUser?: { daily: number; total: number };
}

/** Outcomes may carry whether an attempt may have been done (CallInfo.maybeDone). */
type Maybe = { maybeDone?: boolean };

const BEIJING_ZONES = new Set([
  'Asia/Shanghai',
  'Asia/Chongqing',
  'Asia/Chungking',
  'Asia/Harbin',
  'PRC',
]);

/** The zone as people call it: 北京时间 / Beijing time for China's zone, else its name. */
export function zoneName(timeZone: string, locale: Locale): string {
  if (BEIJING_ZONES.has(timeZone)) return locale === 'zh-CN' ? '北京时间' : 'Beijing time';
  const name = new Intl.DateTimeFormat(locale, { timeZone, timeZoneName: 'longGeneric' })
    .formatToParts(0)
    .find((part) => part.type === 'timeZoneName')?.value;
  // A bare offset ("GMT+08:00") names nothing a person knows: the zone's id does.
  return name === undefined || name.startsWith('GMT') ? timeZone : name;
}

/** Whole yuan, or yuan and fen: 2500 -> 25, 1999 -> 19.99. */
function yuan(fen: number): string {
  return fen % 100 === 0 ? String(fen / 100) : (fen / 100).toFixed(2);
}

function money(fen: number, locale: Locale): string {
  return locale === 'zh-CN' ? `${yuan(fen)} 元` : `¥${yuan(fen)}`;
}

/** "30 秒" / "30 seconds"; a minute or more in whole minutes, rounded up. */
function wait(seconds: number, locale: Locale): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return locale === 'zh-CN' ? `${s} 秒` : s === 1 ? '1 second' : `${s} seconds`;
  const m = Math.ceil(s / 60);
  return locale === 'zh-CN' ? `${m} 分钟` : m === 1 ? '1 minute' : `${m} minutes`;
}

type Relation = 'today' | 'tomorrow' | 'other';

interface Moment {
  relation: Relation;
  /** 16:00 */
  time: string;
  /** 2月7日 / Feb 7 */
  date: string;
}

function dayKey(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(ms);
}

function nextDayKey(key: string): string {
  const [y, m, d] = key.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

/** A moment of the contract (ISO with offset) as the campaign's zone shows it. */
export function momentOf(iso: string, ctx: MessageContext): Moment {
  const at = Date.parse(iso);
  const { timeZone, locale } = ctx;
  const today = dayKey(ctx.now ?? Date.now(), timeZone);
  const day = dayKey(at, timeZone);
  const relation: Relation =
    day === today ? 'today' : day === nextDayKey(today) ? 'tomorrow' : 'other';
  const time = new Intl.DateTimeFormat(locale, {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(at);
  const date = new Intl.DateTimeFormat(locale, {
    timeZone,
    month: locale === 'zh-CN' ? 'long' : 'short',
    day: 'numeric',
  }).format(at);
  return { relation, time, date };
}

/** "16:00" / "明天 00:00" / "2月7日 00:00"; en "at 16:00" / "tomorrow at 00:00" / "on Feb 7 at 00:00". */
function at(iso: string, ctx: MessageContext, sayToday = false): string {
  const { relation, time, date } = momentOf(iso, ctx);
  if (ctx.locale === 'zh-CN') {
    if (relation === 'today') return sayToday ? `今天 ${time}` : time;
    return relation === 'tomorrow' ? `明天 ${time}` : `${date} ${time}`;
  }
  if (relation === 'today') return sayToday ? `today at ${time}` : `at ${time}`;
  return relation === 'tomorrow' ? `tomorrow at ${time}` : `on ${date} at ${time}`;
}

function zoned(text: string, ctx: MessageContext): string {
  const zone = zoneName(ctx.timeZone, ctx.locale);
  return ctx.locale === 'zh-CN' ? `${text}（${zone}）` : `${text} (${zone})`;
}

function couponLine(coupon: Coupon, ctx: MessageContext): string {
  const zh = ctx.locale === 'zh-CN';
  const value = money(coupon.valueFen, ctx.locale);
  switch (coupon.status) {
    case 'issued': {
      const until = zoned(at(coupon.expiresAt, ctx, true), ctx);
      return zh
        ? `券码 ${coupon.code}，面值 ${value}，${until}前有效`
        : `coupon ${coupon.code}, ${value} off, valid until ${until.replace(/^(at|on) /, '')}`;
    }
    case 'redeemed':
      return zh
        ? `券码 ${coupon.code}，面值 ${value}，已经用过了`
        : `coupon ${coupon.code}, ${value} off, already used`;
    case 'expired':
      return zh
        ? `券码 ${coupon.code}，面值 ${value}，已经过期了`
        : `coupon ${coupon.code}, ${value} off, has expired`;
  }
}

/** The "not now" outcomes every operation shares. */
export function transientMessage(outcome: Transient & Maybe, ctx: MessageContext): string {
  const zh = ctx.locale === 'zh-CN';
  const after = wait(outcome.retryAfterSeconds, ctx.locale);
  if (outcome.maybeDone === true)
    return zh
      ? `这次没能确认结果，请 ${after}后再试一次：如果已经办好了，会得到同样的结果，不会重复。`
      : `I couldn't confirm whether that went through; please try again in ${after}. If it did, you'll get the same result, never a second one.`;
  switch (outcome.kind) {
    case 'rate_limited':
      return zh
        ? `操作有点太频繁了，请 ${after}后再试。`
        : `That was a lot of requests in a short time; please try again in ${after}.`;
    case 'overloaded':
      return zh
        ? `现在领券的人太多了，请 ${after}后再试一次。`
        : `Lots of people are claiming right now; please try again in ${after}.`;
    case 'unavailable':
      return zh
        ? `领券服务暂时连不上，请 ${after}后再试。`
        : `The coupon service can't be reached right now; please try again in ${after}.`;
  }
}

export function claimMessage(outcome: ClaimResult & Maybe, ctx: MessageContext): string {
  const zh = ctx.locale === 'zh-CN';
  const { perUser } = ctx;
  switch (outcome.kind) {
    case 'issued':
      return zh
        ? `领到了！${couponLine(outcome.coupon, ctx)}。`
        : `Here you go: ${couponLine(outcome.coupon, ctx)}.`;
    case 'replayed':
      return zh
        ? `这张券你已经领到了：${couponLine(outcome.coupon, ctx)}。`
        : `You already got this one: ${couponLine(outcome.coupon, ctx)}.`;
    case 'sold_out': {
      const next = zoned(at(outcome.nextReleaseAt, ctx), ctx);
      return zh
        ? `今天的券已经发完了，下一批 ${next}发放。`
        : `The coupons released so far are all gone; the next batch is released ${next}.`;
    }
    case 'user_limit':
      if (outcome.limit === 'total')
        return zh
          ? perUser === undefined
            ? '这次活动每人能领的券你已经全部领到了。'
            : `这次活动每人最多 ${perUser.total} 张，你已经全部领到了。`
          : perUser === undefined
            ? 'You already have every coupon this campaign allows per person.'
            : `You already have all ${perUser.total} coupons this campaign allows per person.`;
      if (outcome.retryAt === null)
        return zh
          ? perUser === undefined
            ? '今天能领的券你已经领完了，今天是活动的最后一天，感谢参与！'
            : `你今天已经领了 ${perUser.daily} 张券，今天是活动的最后一天，感谢参与！`
          : perUser === undefined
            ? "You already have today's coupons, and today is the campaign's last day. Thanks for joining in!"
            : `You already have ${perUser.daily} coupons today, and today is the campaign's last day. Thanks for joining in!`;
      return dailyLimit(outcome.retryAt, ctx);
    case 'not_started': {
      const start = zoned(at(outcome.startsAt, ctx, true), ctx);
      return zh
        ? `活动还没开始，${start}开始领券。`
        : `The campaign hasn't started yet; it opens ${start}.`;
    }
    case 'ended':
      return zh
        ? '这次活动已经结束了，感谢关注！'
        : 'This campaign has ended. Thanks for joining in!';
    case 'budget_exhausted':
      return zh
        ? '这次活动的券已经全部发完了，之后也不会再发放新的一批。'
        : "All of this campaign's coupons have been given out; no more will be released.";
    default:
      if (outcome.maybeDone === true)
        return zh
          ? `没能确认你的券是否已经发出，请 ${wait(outcome.retryAfterSeconds, ctx.locale)}后再问我一次：如果已经发了，会给你同一张券，不会重复发。`
          : `I couldn't confirm whether your coupon was issued; ask me again in ${wait(outcome.retryAfterSeconds, ctx.locale)}. If it was, you'll get that same coupon, never a second one.`;
      return transientMessage(outcome, ctx);
  }
}

function dailyLimit(retryAt: string, ctx: MessageContext): string {
  const zh = ctx.locale === 'zh-CN';
  const { relation, time, date } = momentOf(retryAt, ctx);
  const zone = zoneName(ctx.timeZone, ctx.locale);
  const have =
    ctx.perUser === undefined
      ? zh
        ? '今天能领的券你已经领完了'
        : "You already have today's coupons"
      : zh
        ? `你今天已经领了 ${ctx.perUser.daily} 张券`
        : `You already have ${ctx.perUser.daily} coupons today`;
  if (zh) {
    const when =
      relation === 'tomorrow' ? `明天 ${time}` : relation === 'today' ? time : `${date} ${time}`;
    return `${have}，${when}（${zone}）之后再来吧。`;
  }
  const when =
    relation === 'tomorrow'
      ? `tomorrow after ${time}`
      : relation === 'today'
        ? `after ${time}`
        : `on ${date} after ${time}`;
  return `${have}; come back ${when} (${zone}).`;
}

export function redemptionMessage(
  outcome: RedeemResult & Maybe,
  ctx: MessageContext & { orderId?: string },
): string {
  const zh = ctx.locale === 'zh-CN';
  const order = ctx.orderId;
  switch (outcome.kind) {
    case 'redeemed':
    case 'replayed': {
      const off = money(outcome.redemption.discountFen, ctx.locale);
      const id = outcome.redemption.orderId;
      return zh ? `已为订单 ${id} 抵扣 ${off}。` : `Coupon applied: ${off} off order ${id}.`;
    }
    case 'already_redeemed':
      return zh
        ? '这张券已经在另一笔订单上用过了。'
        : 'This coupon was already used on another order.';
    case 'order_reversed':
      return zh
        ? `订单${order === undefined ? '' : ` ${order} `}已经取消过，不能再用这张券；下一笔新订单还可以用。`
        : `Order${order === undefined ? '' : ` ${order}`} was cancelled, so it can't use this coupon again; a new order can.`;
    case 'order_already_discounted':
      return zh
        ? `订单${order === undefined ? '' : ` ${order} `}已经用过本活动的券了，一笔订单不能再叠加。`
        : `Order${order === undefined ? '' : ` ${order}`} already has a coupon from this campaign; one order can't take another.`;
    case 'expired':
      if (outcome.expiresAt === null) return zh ? '这张券已经过期了。' : 'This coupon has expired.';
      return zh
        ? `这张券已经在 ${zoned(at(outcome.expiresAt, ctx, true), ctx)}过期了。`
        : `This coupon expired ${zoned(at(outcome.expiresAt, ctx, true), ctx)}.`;
    case 'below_minimum':
      if (outcome.minOrderFen === null)
        return zh
          ? '这笔订单金额还不够用这张券。'
          : "This order isn't large enough for the coupon.";
      return zh
        ? `订单满 ${money(outcome.minOrderFen, ctx.locale)}才能用这张券。`
        : `This coupon applies to orders of at least ${money(outcome.minOrderFen, ctx.locale)}.`;
    case 'not_found':
      return notFound(ctx);
    default:
      return transientMessage(outcome, ctx);
  }
}

export function reversalMessage(outcome: ReverseResult & Maybe, ctx: MessageContext): string {
  const zh = ctx.locale === 'zh-CN';
  switch (outcome.kind) {
    case 'reversed':
    case 'replayed':
      return zh
        ? `订单已取消，券退回来了：${couponLine(outcome.coupon, ctx)}。`
        : `The order was cancelled and the coupon is back: ${couponLine(outcome.coupon, ctx)}.`;
    case 'not_found':
      return zh
        ? '这笔订单没有用过这张券，或者券码不对。'
        : "That order didn't use this coupon, or the code is wrong.";
    default:
      return transientMessage(outcome, ctx);
  }
}

export function couponMessage(outcome: CouponResult & Maybe, ctx: MessageContext): string {
  const zh = ctx.locale === 'zh-CN';
  switch (outcome.kind) {
    case 'found':
      return zh
        ? `你的券：${couponLine(outcome.coupon, ctx)}。`
        : `Your ${couponLine(outcome.coupon, ctx)}.`;
    case 'not_found':
      return notFound(ctx);
    default:
      return transientMessage(outcome, ctx);
  }
}

function notFound(ctx: MessageContext): string {
  return ctx.locale === 'zh-CN'
    ? '没有找到这张券，请检查一下券码。'
    : "I couldn't find that coupon; please check the code.";
}
