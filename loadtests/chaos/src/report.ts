import type { FailoverResult } from './failover';

const ms = (value: number | null) => (value === null ? 'never' : `${(value / 1000).toFixed(1)} s`);

/** One markdown table row per failover run, with what each column means above it. */
export function formatFailovers(results: readonly FailoverResult[]): string {
  const lines = [
    '### A Redis Cluster master SIGKILLed under load',
    '',
    "claims: sent / 2xx; coupons: the ledger's issued count (includes claims whose 2xx never went out:",
    'a WAIT that fell short answers 503 and the retry replays the coupon); lost: 2xx coupons Redis',
    "no longer has; recovery: kill to the first 2xx on a failed shard; others: the other shards'",
    'claims served during the outage; p50/p99: 2xx claims before the kill; lag: how far the load',
    'generator fell behind its schedule (past ~100 ms it measured itself).',
    '',
    '| WAIT | claims sent / 2xx | coupons in Redis | over-spend fen | codes twice | lost | failed-shard 503s | recovery | others served | p50 / p99 ms | lag ms | reconcile |',
    '| ---- | ----------------- | ---------------- | -------------- | ----------- | ---- | ----------------- | -------- | ------------- | ------------ | ------ | --------- |',
  ];
  for (const r of results) {
    const i = r.inventory;
    lines.push(
      `| ${r.options.waitReplicas} | ${i.claimsSent} / ${i.acknowledged} | ${i.issuedInRedis ?? 'unknown'} | ${
        i.overSpendFen === null ? 'unknown' : Math.max(0, i.overSpendFen)
      } | ${i.codesTwice} | ${i.acknowledgedButLost} | ${r.failedShardRefusals} | ${ms(r.recoveryMs)} | ${
        r.othersDuringOutage.acknowledged
      } / ${r.othersDuringOutage.sent} | ${r.latency.p50.toFixed(1)} / ${r.latency.p99.toFixed(1)} | ${r.maxSendLagMs.toFixed(0)} | ${
        i.problems.length === 0 ? 'clean' : `${i.problems.length} problems`
      } |`,
    );
  }
  return lines.join('\n');
}
