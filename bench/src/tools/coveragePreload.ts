import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

/**
 * Loaded into the service by claimFiles (node --require): the first SIGUSR2 starts V8's precise
 * coverage (call counts), the second writes, to CLAIM_FILES_OUT, every script with a function
 * that ran since, and the names of those functions.
 */
const session = new Session();
session.connect();
let started = false;
process.on('SIGUSR2', () => {
  const out = process.env.CLAIM_FILES_OUT;
  if (out === undefined) return;
  if (!started) {
    session.post('Profiler.enable');
    session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false }, () => {
      started = true;
      writeFileSync(`${out}.started`, '');
    });
    return;
  }
  session.post('Profiler.takePreciseCoverage', (err, coverage) => {
    if (err !== null) throw err;
    const ran: Record<string, string[]> = {};
    for (const script of coverage.result) {
      const called = script.functions.filter((f) => f.ranges.some((r) => r.count > 0));
      if (called.length > 0) ran[script.url] = called.map((f) => f.functionName || '(anonymous)');
    }
    writeFileSync(out, JSON.stringify(ran));
  });
});
