import { connect } from 'node:net';

/** An error reply (`-ERR ...`) from Redis. */
export class RedisReplyError extends Error {
  override name = 'RedisReplyError';
}

export type RawReply = string | number | null;

/**
 * Sends one command over a fresh connection and returns the reply. It understands the RESP2
 * replies the process code needs (simple string, error, integer, bulk string), not arrays.
 * Used to probe servers without a client library, its retries or its timers.
 */
export function sendRawCommand(
  port: number,
  args: readonly string[],
  opts: { host?: string; timeoutMs?: number } = {},
): Promise<RawReply> {
  const host = opts.host ?? '127.0.0.1';
  const timeoutMs = opts.timeoutMs ?? 1000;
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    let settled = false;
    const socket = connect({ host, port });
    const finish = (err: Error | undefined, value?: RawReply): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else resolve(value ?? null);
    };
    socket.setTimeout(timeoutMs, () =>
      finish(new Error(`${host}:${port}: no reply to ${args[0] ?? ''} within ${timeoutMs} ms`)),
    );
    socket.once('error', (err) => finish(err));
    socket.once('close', () => finish(new Error(`${host}:${port}: connection closed`)));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      try {
        const parsed = parseReply(buffer);
        if (parsed !== undefined) {
          if (parsed instanceof RedisReplyError) finish(parsed);
          else finish(undefined, parsed.value);
        }
      } catch (err) {
        finish(err as Error);
      }
    });
    socket.once('connect', () => socket.write(encodeCommand(args)));
  });
}

function encodeCommand(args: readonly string[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return out;
}

/** undefined while the reply is incomplete. */
function parseReply(buf: Buffer): { value: RawReply } | RedisReplyError | undefined {
  const eol = buf.indexOf('\r\n');
  if (eol < 0) return undefined;
  const line = buf.toString('utf8', 1, eol);
  switch (buf[0]) {
    case 0x2b: // '+'
      return { value: line };
    case 0x2d: // '-'
      return new RedisReplyError(line);
    case 0x3a: // ':'
      return { value: Number(line) };
    case 0x24: {
      // '$'
      const length = Number(line);
      if (length < 0) return { value: null };
      const start = eol + 2;
      if (buf.length < start + length + 2) return undefined;
      return { value: buf.toString('utf8', start, start + length) };
    }
    default:
      throw new Error(`unexpected reply type ${JSON.stringify(buf.toString('utf8', 0, 1))}`);
  }
}
