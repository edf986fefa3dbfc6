import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import type { PreparedAnswer } from '@coupons/admission';
import { ApiError, fromBodyParser, preparedError } from '../answers/errors';

const MAX_BODY_BYTES = 16 * 1024;

/** Bodies of one API key being read at once, past which its next body is refused at once. */
const DEFAULT_MAX_BODIES_PER_KEY = 32;

export type BodyOutcome =
  | { kind: 'read'; body: unknown }
  /** Answered already (the request was refused, or its caller left): nothing more to do. */
  | { kind: 'answered'; why: 'too_many' | 'timeout' | 'bad_body' | 'gone' };

/** The header by which a request says it has a body (a zero Content-Length says it has none). */
export function declaredBody(headers: IncomingMessage['headers']): string | undefined {
  if (headers['transfer-encoding'] !== undefined) return 'Transfer-Encoding';
  const length = headers['content-length'];
  return length !== undefined && length !== '0' ? 'Content-Length' : undefined;
}

const close = { connection: 'close' };

/**
 * Reads a request's JSON body before the request takes an admission slot, so a body that is slow
 * or never comes costs its sender, not the callers behind it: bounded in bytes (16 KiB, 413),
 * in time (`timeoutMs` from the first byte awaited, 408 and the connection closed) and in count
 * per API key (a key with `maxPerKey` bodies still arriving is refused at once, 503 and closed).
 * JSON only (415), parsed strictly (objects and arrays) by express's own parser.
 */
export class BodyReader {
  private readonly parse = express.json({
    limit: MAX_BODY_BYTES,
    strict: true,
    // read() lets only JSON through (isJson, 415 otherwise): body-parser's own media-type match
    // (type-is, 1.3% of a claim's CPU) would only say yes again. Its charset check still runs.
    type: () => true,
  });
  private readonly reading = new Map<string, number>();
  private readonly timedOut: PreparedAnswer;
  private readonly tooMany: PreparedAnswer;
  private readonly notJson = preparedError(
    new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send the body as Content-Type: application/json'),
  );

  constructor(
    private readonly timeoutMs: number,
    private readonly maxPerKey = DEFAULT_MAX_BODIES_PER_KEY,
  ) {
    this.timedOut = preparedError(
      new ApiError(
        'REQUEST_TIMEOUT',
        `the request body did not arrive within ${timeoutMs} ms; send it whole, then retry`,
      ),
      close,
    );
    this.tooMany = preparedError(
      new ApiError(
        'OVERLOADED',
        'too many request bodies of this API key are still arriving; send each body whole, then retry',
        { retryAfterSeconds: 1 },
      ),
      close,
    );
  }

  /** Bodies being read now (every key). */
  get inProgress(): number {
    let n = 0;
    for (const count of this.reading.values()) n += count;
    return n;
  }

  /** Reads the body of a request whose route takes one; `done` is called exactly once. */
  read(
    req: IncomingMessage,
    res: ServerResponse,
    keyId: string,
    done: (outcome: BodyOutcome) => void,
  ): void {
    if (declaredBody(req.headers) === undefined) {
      done({ kind: 'read', body: undefined });
      return;
    }
    if (!isJson(req)) return this.answer(res, this.notJson, done, 'bad_body');
    const count = this.reading.get(keyId) ?? 0;
    if (count >= this.maxPerKey) return this.answer(res, this.tooMany, done, 'too_many');
    this.reading.set(keyId, count + 1);
    let settled = false;
    const settle = (outcome: BodyOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const left = (this.reading.get(keyId) ?? 1) - 1;
      if (left === 0) this.reading.delete(keyId);
      else this.reading.set(keyId, left);
      done(outcome);
    };
    const timer = setTimeout(() => {
      if (req.complete || res.headersSent) return;
      writePrepared(res, this.timedOut);
      settle({ kind: 'answered', why: 'timeout' });
    }, this.timeoutMs);
    // The caller left: nothing to answer, and its slot in the per-key count is free again.
    req.once('close', () => {
      if (!req.complete) settle({ kind: 'answered', why: 'gone' });
    });
    const withBody = req as IncomingMessage & { body?: unknown };
    this.parse(withBody as never, res as never, (err?: unknown) => {
      if (settled) return;
      if (err === undefined) return settle({ kind: 'read', body: withBody.body });
      const known =
        typeof err === 'object' && err !== null
          ? fromBodyParser(err as { type?: unknown })
          : undefined;
      // A body cut short leaves bytes node would read as the next request: close after the answer.
      writePrepared(
        res,
        preparedError(known ?? new ApiError('INVALID_REQUEST', 'the request could not be read'), {
          ...(req.complete ? {} : close),
        }),
      );
      settle({ kind: 'answered', why: 'bad_body' });
    });
  }

  private answer(
    res: ServerResponse,
    prepared: PreparedAnswer,
    done: (outcome: BodyOutcome) => void,
    why: 'too_many' | 'bad_body',
  ): void {
    writePrepared(res, prepared);
    done({ kind: 'answered', why });
  }
}

function isJson(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  if (type === undefined) return false;
  const semi = type.indexOf(';');
  return (semi < 0 ? type : type.slice(0, semi)).trim().toLowerCase() === 'application/json';
}

function writePrepared(res: ServerResponse, answer: PreparedAnswer): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(answer.status, answer.rawHeaders as string[]).end(answer.body);
}
