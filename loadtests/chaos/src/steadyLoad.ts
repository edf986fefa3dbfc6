import { performance } from 'node:perf_hooks';
import { shardOfUser } from '@coupons/budget-ledger';
import { PATHS } from '@coupons/contract';
import { claimRequests } from '@coupons/runner';

/** One logical claim as the load sent it and what it was told. */
export interface ClaimRecord {
  /** the logical claim's number: its user and Idempotency-Key follow from it */
  index: number;
  userId: string;
  idempotencyKey: string;
  shard: number;
  /** ms since the load started */
  sentAt: number;
  /** 0: no answer (connection refused, reset, timed out) */
  status: number;
  /** the coupon code of a 2xx */
  code?: string;
  ms: number;
  errorCode?: string;
  errorMessage?: string;
}

export interface RedemptionRecord {
  code: string;
  orderId: string;
  sentAt: number;
  status: number;
}

export interface SteadyLoadOptions {
  campaignId: string;
  shards: number;
  apiKey: string;
  /** where requests go; asked per request, so pods may come and go */
  pods: () => readonly { base: string }[];
  claimsPerSecond: number;
  /** share of issued coupons redeemed (a moment after their claim) */
  redeemShare?: number;
  /** per-request X-Request-Timeout-Ms; the client gives up a second later */
  requestTimeoutMs?: number;
  runId: string;
}

/**
 * Claims at a fixed rate (each a new user with its own Idempotency-Key, as the load runner names
 * them) and redemptions of a share of what was issued, on whichever pods are up, until stopped.
 * Every answer is kept: the scenarios count from them what was acknowledged.
 */
export class SteadyLoad {
  readonly claims: ClaimRecord[] = [];
  readonly redemptions: RedemptionRecord[] = [];
  /** the most the sender fell behind its schedule, ms: past ~100 ms it measured itself */
  maxSendLagMs = 0;
  private readonly request: ReturnType<typeof claimRequests>;
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private started = 0;
  private sent = 0;
  private next = 0;

  constructor(private readonly options: SteadyLoadOptions) {
    this.request = claimRequests({
      campaign: options.campaignId,
      apiKey: options.apiKey,
      runId: options.runId,
    });
  }

  start(): void {
    this.started = performance.now();
    this.timer = setInterval(() => this.tick(), 5);
  }

  /** ms since start */
  now(): number {
    return performance.now() - this.started;
  }

  /** Stops sending and waits for every answer. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private tick(): void {
    const elapsed = this.now();
    const due = Math.floor((elapsed / 1000) * this.options.claimsPerSecond);
    while (this.sent < due) {
      const scheduledAt = (this.sent / this.options.claimsPerSecond) * 1000;
      this.maxSendLagMs = Math.max(this.maxSendLagMs, elapsed - scheduledAt);
      this.sent += 1;
      this.track(this.claim(this.next++).then(() => undefined));
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private pod(i: number): string | undefined {
    const pods = this.options.pods();
    return pods.length === 0 ? undefined : pods[i % pods.length]!.base;
  }

  /** Sends logical claim `i` now, outside the schedule, and waits for its answer. */
  claimOnce(i: number): Promise<ClaimRecord> {
    return this.claim(i);
  }

  /** Sends an earlier claim again: the same user, body and Idempotency-Key. */
  async replay(claim: ClaimRecord): Promise<ClaimRecord> {
    return this.claimOnce(claim.index);
  }

  private async claim(i: number): Promise<ClaimRecord> {
    const spec = this.request(i);
    const userId = JSON.parse(spec.body!).userId as string;
    const record: ClaimRecord = {
      index: i,
      userId,
      idempotencyKey: spec.headers?.['idempotency-key'] ?? '',
      shard: shardOfUser(userId, this.options.shards),
      sentAt: this.now(),
      status: 0,
      ms: 0,
    };
    this.claims.push(record);
    const answer = await this.send(i, spec.method, spec.path, spec.headers, spec.body);
    record.status = answer.status;
    record.ms = this.now() - record.sentAt;
    if (answer.status >= 200 && answer.status < 300) {
      record.code = answer.body?.coupon?.code;
      if (record.code !== undefined && Math.random() < (this.options.redeemShare ?? 0))
        this.track(this.redeem(i, record.code, userId));
    } else {
      record.errorCode = answer.body?.error?.code;
      record.errorMessage = answer.body?.error?.message;
    }
    return record;
  }

  private async redeem(i: number, code: string, userId: string): Promise<void> {
    const orderId = `order-${this.options.runId}-${i}`;
    const record: RedemptionRecord = { code, orderId, sentAt: this.now(), status: 0 };
    this.redemptions.push(record);
    const answer = await this.send(
      i,
      'POST',
      PATHS.redemptions(this.options.campaignId, code),
      {
        authorization: `Bearer ${this.options.apiKey}`,
        'content-type': 'application/json',
      },
      JSON.stringify({ userId, orderId, orderAmountFen: 10_000 }),
    );
    record.status = answer.status;
  }

  /** Sends one request; a refused or reset connection or no answer in time is status 0. */
  async send(
    i: number,
    method: string,
    path: string,
    headers: Record<string, string> | undefined,
    body: string | undefined,
  ): Promise<{ status: number; body: AnswerBody | undefined }> {
    const base = this.pod(i);
    if (base === undefined) return { status: 0, body: undefined };
    const timeoutMs = this.options.requestTimeoutMs ?? 2000;
    try {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { ...headers, 'x-request-timeout-ms': String(timeoutMs) },
        body,
        signal: AbortSignal.timeout(timeoutMs + 1000),
      });
      const text = await res.text();
      return {
        status: res.status,
        body: text === '' ? undefined : (JSON.parse(text) as AnswerBody),
      };
    } catch {
      return { status: 0, body: undefined };
    }
  }
}

interface AnswerBody {
  coupon?: { code?: string };
  error?: { code?: string; message?: string };
}
