export { CouponBot, type CampaignFacts, type ChatUser, type Intent, type Turn } from './bot';
export { playChat, type PlayOptions } from './chat';
export { DEFAULTS, main, MISSING_KEY, type Io } from './main';
