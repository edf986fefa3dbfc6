/**
 * Polls `attempt` every 20 ms until it gives a value (not undefined), or fails after timeoutMs.
 * For a condition: `until('what', () => condition() || undefined)`. For things that happen on
 * their own schedule (a server, another process); never a substitute for an injected clock.
 */
export async function until<T>(
  what: string,
  attempt: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
