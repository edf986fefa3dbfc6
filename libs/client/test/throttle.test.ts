import { AdaptiveThrottle } from '../src/throttle';
import { ManualClock, randoms, seeded } from './support';

describe('AdaptiveThrottle (SRE client-side throttling)', () => {
  it('never refuses while the service accepts everything', () => {
    const clock = new ManualClock(0);
    const throttle = new AdaptiveThrottle(
      { k: 2, windowMs: 10_000, minRequests: 0 },
      clock,
      randoms(0),
    );
    for (let i = 0; i < 1_000; i++) {
      expect(throttle.admit()).toBe(true);
      throttle.accepted();
    }
    expect(throttle.rejectProbability()).toBe(0);
  });

  it('refuses with probability (requests - K x accepts) / (requests + 1)', () => {
    const clock = new ManualClock(0);
    const throttle = new AdaptiveThrottle(
      { k: 2, windowMs: 10_000, minRequests: 0 },
      clock,
      randoms(0.5),
    );
    // 10 requests, 2 accepted: (10 - 4) / 11.
    for (let i = 0; i < 10; i++) {
      throttle.admit();
      if (i < 2) throttle.accepted();
    }
    expect(throttle.rejectProbability()).toBeCloseTo(6 / 11, 10);
    // A draw below the probability refuses, one above it sends.
    const refuse = new AdaptiveThrottle(
      { k: 2, windowMs: 10_000, minRequests: 0 },
      clock,
      randoms(0.54),
    );
    const send = new AdaptiveThrottle(
      { k: 2, windowMs: 10_000, minRequests: 0 },
      clock,
      randoms(0.55),
    );
    for (const t of [refuse, send])
      for (let i = 0; i < 10; i++) {
        t.admit();
        if (i < 2) t.accepted();
      }
    expect(refuse.admit()).toBe(false);
    expect(send.admit()).toBe(true);
  });

  it('lets up to K times the accepts through before refusing anything', () => {
    const clock = new ManualClock(0);
    const throttle = new AdaptiveThrottle(
      { k: 3, windowMs: 10_000, minRequests: 0 },
      clock,
      randoms(0),
    );
    for (let i = 0; i < 30; i++) throttle.admit();
    for (let i = 0; i < 10; i++) throttle.accepted();
    expect(throttle.rejectProbability()).toBe(0);
    throttle.admit();
    expect(throttle.rejectProbability()).toBeGreaterThan(0);
  });

  it('engages when the service sheds everything, and lets traffic back once it accepts again', () => {
    const clock = new ManualClock(0);
    const throttle = new AdaptiveThrottle(
      { k: 2, windowMs: 10_000, minRequests: 0 },
      clock,
      seeded(7),
    );
    let sent = 0;
    // Shedding: nothing accepted for 10 s at 100 requests per second.
    for (let i = 0; i < 1_000; i++) {
      if (throttle.admit()) sent += 1;
      clock.advance(10);
    }
    expect(throttle.rejectProbability()).toBeGreaterThan(0.99);
    expect(sent).toBeLessThan(30);
    // Recovered: everything sent is accepted. The share let through grows second by second
    // (each accept lowers the probability, and the shed history slides out of the window).
    const shares: number[] = [];
    for (let second = 0; second < 60; second++) {
      let admitted = 0;
      for (let i = 0; i < 100; i++) {
        if (throttle.admit()) {
          admitted += 1;
          throttle.accepted();
        }
        clock.advance(10);
      }
      shares.push(admitted / 100);
    }
    expect(shares[0]).toBeLessThan(0.1);
    expect(shares.at(-1)).toBe(1);
    expect(throttle.rejectProbability()).toBe(0);
    const recoveredAt = shares.findIndex((share) => share === 1);
    // Gradual, not a step: about (window / 2) x ln(requests per window) + a window, ~45 s here.
    expect(recoveredAt).toBeGreaterThan(5);
    expect(recoveredAt).toBeLessThan(50);
  });

  it('refuses nothing while the window holds fewer than minRequests requests', () => {
    const clock = new ManualClock(0);
    const throttle = new AdaptiveThrottle(
      { k: 2, windowMs: 10_000, minRequests: 10 },
      clock,
      randoms(0),
    );
    for (let i = 0; i < 9; i++) expect(throttle.admit()).toBe(true);
    expect(throttle.rejectProbability()).toBe(0);
    // The tenth request of the window: 10 requests, no accepts.
    throttle.admit();
    expect(throttle.rejectProbability()).toBeCloseTo(10 / 11, 10);
    expect(throttle.admit()).toBe(false);
    clock.advance(10_000);
    expect(throttle.admit()).toBe(true);
  });

  it('counts refused requests as requests', () => {
    const clock = new ManualClock(0);
    const throttle = new AdaptiveThrottle(
      { k: 2, windowMs: 10_000, minRequests: 0 },
      clock,
      randoms(0),
    );
    for (let i = 0; i < 5; i++) throttle.admit();
    // 5 requests, 0 accepts: 5/6, whether they were sent or not.
    expect(throttle.rejectProbability()).toBeCloseTo(5 / 6, 10);
  });
});
