import type { Client, Dispatcher } from 'undici';
import type { RequestSpec, ResponseHeaders } from './types';

/** The reason given to undici when the run gives up on a request; one instance, no allocation. */
export const DEADLINE_PASSED = new Error(
  'no answer within the timeout, counted from the scheduled time',
);

export interface ExchangeOwner {
  /** undici is writing the request: its connection is up */
  started(exchange: Exchange): void;
  answered(exchange: Exchange): void;
  failed(exchange: Exchange, error: Error): void;
}

/**
 * One request and its answer: undici's dispatch handler, so no promise, stream or header object
 * beyond undici's own is made per request. The body is discarded unless keepBody.
 */
export class Exchange implements Dispatcher.DispatchHandler {
  status = 0;
  hasRetryAfter = false;
  headers: ResponseHeaders | null = null;
  /** counted as answered, timed out or failed; later callbacks only hand the connection back */
  settled = false;
  client: Client | null = null;
  private chunks: Buffer[] | null = null;
  private controller: Dispatcher.DispatchController | null = null;
  private abandoned = false;

  constructor(
    readonly owner: ExchangeOwner,
    readonly index: number,
    readonly spec: RequestSpec,
    /** performance.now() ms latency is measured from: the scheduled time (open) or the send (closed) */
    readonly startedAt: number,
    readonly deadline: number,
    private readonly keepBody: boolean,
    /** false during a closed loop's warm-up */
    readonly counted: boolean,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.owner.started(this);
    if (this.abandoned) controller.abort(DEADLINE_PASSED);
    else this.controller = controller;
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: ResponseHeaders,
  ): void {
    this.status = statusCode;
    this.hasRetryAfter = headers['retry-after'] !== undefined;
    if (this.keepBody) this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.keepBody) (this.chunks ??= []).push(chunk);
  }

  onResponseEnd(): void {
    this.owner.answered(this);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.owner.failed(this, error);
  }

  /** Gives up: an HTTP/1.1 request in flight can only be cancelled by closing its connection. */
  abandon(): void {
    this.abandoned = true;
    this.controller?.abort(DEADLINE_PASSED);
  }

  body(): string {
    const chunks = this.chunks;
    if (chunks === null) return '';
    return chunks.length === 1
      ? chunks[0]!.toString('utf8')
      : Buffer.concat(chunks).toString('utf8');
  }
}
