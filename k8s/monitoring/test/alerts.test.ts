import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageDir } from '../src/render';
import { ALERTS, RUNBOOK_BASE_URL, runbookAnchor } from '../src/rules';

const RUNBOOKS = join(packageDir(), '..', '..', 'docs', 'runbooks.md');

/** GitHub's anchor for a Markdown heading. */
function githubSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function headings(markdown: string): string[] {
  let inFence = false;
  const out: string[] = [];
  for (const line of markdown.split('\n')) {
    if (line.trimStart().startsWith('```')) inFence = !inFence;
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!inFence && m?.[1] !== undefined) out.push(m[1]);
  }
  return out;
}

describe('github slugs', () => {
  it('lowercases, drops punctuation and joins words with hyphens', () => {
    expect(githubSlug('CouponLedgerFault')).toBe('couponledgerfault');
    expect(githubSlug('Restore a ledger: after a loss')).toBe('restore-a-ledger-after-a-loss');
  });
});

describe('alerts', () => {
  const runbookText = readFileSync(RUNBOOKS, 'utf8');
  const anchors = new Set(headings(runbookText).map(githubSlug));

  it('have unique names', () => {
    const names = ALERTS.map((a) => a.alert);
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBeGreaterThanOrEqual(14);
  });

  it.each(ALERTS.map((a) => [a.alert, a] as const))(
    '%s has a severity, a summary, a description and a one-line reason for its threshold',
    (_name, alert) => {
      expect(['page', 'ticket']).toContain(alert.labels.severity);
      expect(alert.annotations.summary.trim().length).toBeGreaterThan(10);
      expect(alert.annotations.description.trim().length).toBeGreaterThan(
        alert.annotations.summary.trim().length / 2,
      );
      expect(alert.why.trim().length).toBeGreaterThan(20);
      expect(alert.why).not.toContain('\n');
    },
  );

  it.each(ALERTS.map((a) => [a.alert, a] as const))(
    "%s's runbook_url points at a heading of docs/runbooks.md",
    (name, alert) => {
      const url = alert.annotations.runbook_url;
      expect(url).toBe(`${RUNBOOK_BASE_URL}#${runbookAnchor(name)}`);
      const anchor = url.slice(url.indexOf('#') + 1);
      if (!anchors.has(anchor))
        throw new Error(
          `docs/runbooks.md has no heading with anchor #${anchor} (add "## ${name}")`,
        );
    },
  );

  it('every runbook section named like an alert belongs to an alert that exists', () => {
    const names = new Set(ALERTS.map((a) => a.alert));
    const stale = headings(runbookText).filter((h) => /^Coupon[A-Z]\w+$/.test(h) && !names.has(h));
    expect(stale).toEqual([]);
  });
});
