import { Agent, request } from 'node:http';
import { claimRequests, retryAfterMs } from '@coupons/runner';

/**
 * The crowd as an open model with a retry storm on top: fresh claims arrive at the crowd's rate
 * whatever the fleet answers, each from a new user; a claim shed (429/503 with Retry-After) comes
 * back with the same Idempotency-Key, half the crowd at once (eager), half when told (polite), at
 * most `maxRetries` times. Every answer is tallied in the second it arrives.
 */

export interface SecondTally {
  /** fresh claims sent */
  fresh: number;
  /** every request sent, retries included */
  sent: number;
  /** 2xx: a coupon in hand */
  served: number;
  /** 429/503 with Retry-After */
  shed: number;
  /** anything else: other statuses, errors, no answer within the timeout */
  failed: number;
  /** latencies of the served answers, ms */
  servedMs: number[];
}

const newSecond = (): SecondTally => ({
  fresh: 0,
  sent: 0,
  served: 0,
  shed: 0,
  failed: 0,
  servedMs: [],
});

export interface LoadOptions {
  baseUrl: string;
  campaign: string;
  apiKey: string;
  runId: string;
  /** fresh claims per second at second t of the run */
  rateAt: (t: number) => number;
  durationSeconds: number;
  maxRetries?: number;
  timeoutMs?: number;
}

export class CrowdLoad {
  readonly seconds: SecondTally[] = [];
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 512 });
  private readonly make: ReturnType<typeof claimRequests>;
  private startedAt = 0;
  private inFlight = 0;
  private stopped = false;

  constructor(private readonly options: LoadOptions) {
    this.make = claimRequests({
      campaign: options.campaign,
      apiKey: options.apiKey,
      runId: options.runId,
    });
  }

  private second(): SecondTally {
    const s = Math.floor((performance.now() - this.startedAt) / 1000);
    while (this.seconds.length <= s) this.seconds.push(newSecond());
    return this.seconds[s]!;
  }

  /** Runs the crowd to its end; resolves once every request has its answer or timed out. */
  async run(): Promise<void> {
    this.startedAt = performance.now();
    const url = new URL(this.options.baseUrl);
    let index = 0;
    let owed = 0;
    let last = this.startedAt;
    while (!this.stopped) {
      const now = performance.now();
      const t = (now - this.startedAt) / 1000;
      if (t >= this.options.durationSeconds) break;
      owed += (this.options.rateAt(Math.floor(t)) * (now - last)) / 1000;
      last = now;
      while (owed >= 1) {
        owed -= 1;
        this.second().fresh += 1;
        this.send(url, index, 0);
        index += 1;
      }
      await new Promise((done) => setTimeout(done, 5));
    }
    while (this.inFlight > 0) await new Promise((done) => setTimeout(done, 50));
    this.agent.destroy();
  }

  stop(): void {
    this.stopped = true;
  }

  private send(url: URL, index: number, attempt: number): void {
    const spec = this.make(index);
    const sentAt = performance.now();
    this.second().sent += 1;
    this.inFlight += 1;
    let done = false;
    const finish = (outcome: 'served' | 'shed' | 'failed', retryMs?: number) => {
      if (done) return;
      done = true;
      this.inFlight -= 1;
      const s = this.second();
      s[outcome] += 1;
      if (outcome === 'served') s.servedMs.push(performance.now() - sentAt);
      const retries = this.options.maxRetries ?? 2;
      if (outcome === 'shed' && attempt < retries && !this.stopped) {
        // Half the crowd retries at once (eager), half waits as told (polite).
        const delay =
          index % 2 === 0 ? 200 + Math.random() * 800 : (retryMs ?? 1000) + Math.random() * 1000;
        const endsAt = this.startedAt + this.options.durationSeconds * 1000;
        if (performance.now() + delay < endsAt)
          setTimeout(() => this.send(url, index, attempt + 1), delay).unref();
      }
    };
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: spec.method,
        path: spec.path,
        headers: { ...spec.headers, 'content-length': Buffer.byteLength(spec.body ?? '') },
        agent: this.agent,
        timeout: this.options.timeoutMs ?? 2000,
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) finish('served');
          else if ((status === 429 || status === 503) && res.headers['retry-after'] !== undefined)
            finish('shed', retryAfterMs(res.headers));
          else finish('failed');
        });
        res.on('error', () => finish('failed'));
      },
    );
    req.on('timeout', () => {
      req.destroy();
      finish('failed');
    });
    req.on('error', () => finish('failed'));
    req.end(spec.body);
  }
}
