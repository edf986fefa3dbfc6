import { AdaptiveThrottle, type ThrottleOptions } from '../src/throttle';
import { ManualClock, randoms, seeded } from './support';

const options = (more: Partial<ThrottleOptions> = {}): ThrottleOptions => ({
  k: 2,
  windowMs: 10_000,
  minRequests: 0,
  ...more,
});

/** Sends a request through the throttle; when admitted, the service answers `accepted`. */
function request(throttle: AdaptiveThrottle, accepted: boolean): boolean {
  const admitted = throttle.admit();
  if (admitted) throttle.settle(accepted);
  return admitted;
}

describe('AdaptiveThrottle (SRE client-side throttling)', () => {
  it('never refuses while the service accepts everything', () => {
    const clock = new ManualClock(0);
    const throttle = new AdaptiveThrottle(options(), clock, randoms(0));
    for (let i = 0; i < 1_000; i++) expect(request(throttle, true)).toBe(true);
    expect(throttle.rejectProbability()).toBe(0);
  });

  it('refuses with probability (requests - K x accepts) / (requests + 1)', () => {
    const clock = new ManualClock(0);
    // 10 answers, 2 accepted: (10 - 4) / 11 = 0.5454...
    const primed = (draw: number) => {
      const throttle = new AdaptiveThrottle(options(), clock, randoms(draw));
      for (let i = 0; i < 10; i++) throttle.settle(i < 2);
      return throttle;
    };
    expect(primed(0).rejectProbability()).toBeCloseTo(6 / 11, 10);
    // A draw below the probability refuses, one above it sends.
    expect(primed(0.54).admit()).toBe(false);
    expect(primed(0.55).admit()).toBe(true);
  });

  it('lets up to K times the accepts through before refusing anything', () => {
    const clock = new ManualClock(0);
    const throttle = new AdaptiveThrottle(options({ k: 3 }), clock, randoms(0));
    for (let i = 0; i < 30; i++) throttle.settle(i < 10);
    expect(throttle.rejectProbability()).toBe(0);
    throttle.settle(false);
    expect(throttle.rejectProbability()).toBeGreaterThan(0);
  });

  it('counts refused requests as requests, sent ones when their answer is in', () => {
    const clock = new ManualClock(0);
    const throttle = new AdaptiveThrottle(options(), clock, randoms(0));
    // A burst of 20 sent at once: none answered yet, so none refused.
    for (let i = 0; i < 20; i++) expect(throttle.admit()).toBe(true);
    expect(throttle.rejectProbability()).toBe(0);
    // Their answers: all shed.
    for (let i = 0; i < 20; i++) throttle.settle(false);
    expect(throttle.rejectProbability()).toBeCloseTo(20 / 21, 10);
    // Refused requests count: 5 more, none sent.
    for (let i = 0; i < 5; i++) expect(throttle.admit()).toBe(false);
    expect(throttle.rejectProbability()).toBeCloseTo(25 / 26, 10);
  });

  it('refuses nothing while the window holds fewer than minRequests requests', () => {
    const clock = new ManualClock(0);
    const throttle = new AdaptiveThrottle(options({ minRequests: 10 }), clock, randoms(0));
    for (let i = 0; i < 9; i++) expect(request(throttle, false)).toBe(true);
    expect(throttle.rejectProbability()).toBe(0);
    // The tenth answer of the window: 10 requests, no accepts.
    request(throttle, false);
    expect(throttle.rejectProbability()).toBeCloseTo(10 / 11, 10);
    expect(throttle.admit()).toBe(false);
    clock.advance(10_000);
    expect(throttle.admit()).toBe(true);
  });

  it('engages when the service sheds everything, and lets traffic back once it accepts again', () => {
    const clock = new ManualClock(0);
    const throttle = new AdaptiveThrottle(options(), clock, seeded(7));
    let sent = 0;
    // Shedding: nothing accepted for 10 s at 100 requests per second.
    for (let i = 0; i < 1_000; i++) {
      if (request(throttle, false)) sent += 1;
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
        if (request(throttle, true)) admitted += 1;
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

  it('lets a service that accepts some of the load get about K times that', () => {
    const clock = new ManualClock(0);
    const throttle = new AdaptiveThrottle(options(), clock, seeded(3));
    // The service accepts at most 10 a second, the client wants 100 a second.
    let sentLastWindow = 0;
    for (let second = 0; second < 30; second++) {
      let accepted = 0;
      let sent = 0;
      for (let i = 0; i < 100; i++) {
        const admitted = throttle.admit();
        if (admitted) {
          sent += 1;
          const ok = accepted < 10;
          if (ok) accepted += 1;
          throttle.settle(ok);
        }
        clock.advance(10);
      }
      if (second >= 20) sentLastWindow += sent;
    }
    // K = 2: about 20 a second reach the service instead of 100.
    expect(sentLastWindow / 10).toBeGreaterThan(15);
    expect(sentLastWindow / 10).toBeLessThan(25);
  });
});
