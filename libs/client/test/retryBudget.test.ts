import { RetryBudget } from '../src/retryBudget';
import { ManualClock } from './support';

describe('RetryBudget', () => {
  it('lets a quiet client retry minRetries times per window', () => {
    const clock = new ManualClock(0);
    const budget = new RetryBudget({ ratio: 0.1, windowMs: 10_000, minRetries: 2 }, clock);
    budget.deposit();
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
  });

  it('caps retries at ratio x calls (+ minRetries) over the window', () => {
    const clock = new ManualClock(0);
    const budget = new RetryBudget({ ratio: 0.1, windowMs: 10_000, minRetries: 2 }, clock);
    let retries = 0;
    // 200 calls, each wanting 3 retries (every answer a failure).
    for (let call = 0; call < 200; call++) {
      budget.deposit();
      for (let r = 0; r < 3; r++) if (budget.tryWithdraw()) retries += 1;
      clock.advance(10);
    }
    expect(retries).toBe(2 + 20);
  });

  it('refills as calls and retries leave the window', () => {
    const clock = new ManualClock(0);
    const budget = new RetryBudget({ ratio: 0.5, windowMs: 1_000, minRetries: 0 }, clock);
    for (let i = 0; i < 4; i++) budget.deposit();
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
    clock.advance(1_000);
    // The old calls and retries are gone: nothing to spend, nothing spent.
    expect(budget.balance()).toBe(0);
    budget.deposit();
    budget.deposit();
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
  });

  it('does not take a token when it refuses', () => {
    const clock = new ManualClock(0);
    const budget = new RetryBudget({ ratio: 0, windowMs: 1_000, minRetries: 1 }, clock);
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
    expect(budget.balance()).toBe(0);
  });
});
