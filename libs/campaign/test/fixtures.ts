import { campaignInput } from '@coupons/testing';
import {
  CampaignCalendar,
  CampaignConfigError,
  parseCampaigns,
  parseIsoInstant,
  type CampaignConfig,
} from '../src';

/** Epoch ms of an ISO-8601 instant with offset; throws on a typo so a test cannot pass by accident. */
export function ms(iso: string): number {
  const value = parseIsoInstant(iso);
  if (value === undefined) throw new Error(`bad instant in test: ${iso}`);
  return value;
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** The historic campaign as it appears in a campaigns file, with `overrides` on top (loosely typed: tests delete fields). */
export function rawCampaign(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...campaignInput(overrides) };
}

export function campaignFrom(overrides: Record<string, unknown> = {}): CampaignConfig {
  const [campaign] = parseCampaigns({ campaigns: [rawCampaign(overrides)] });
  if (campaign === undefined) throw new Error('no campaign parsed');
  return campaign;
}

/**
 * The calendar of the historic campaign run from `startsAt` to `endsAt`, its coupons expiring at
 * the end, with `overrides` on top.
 */
export function calendarOver(
  startsAt: string,
  endsAt: string,
  overrides: Record<string, unknown> = {},
): CampaignCalendar {
  return new CampaignCalendar(
    campaignFrom({ startsAt, endsAt, couponExpiresAt: endsAt, ...overrides }),
  );
}

/** The issues a campaigns file object is rejected with; fails the test when it is accepted. */
export function issuesOf(input: unknown): string[] {
  try {
    parseCampaigns(input);
  } catch (err) {
    if (err instanceof CampaignConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected a CampaignConfigError, but the input was accepted');
}

export function issuesOfCampaign(overrides: Record<string, unknown>): string[] {
  return issuesOf({ campaigns: [rawCampaign(overrides)] });
}

export const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
