import { SlidingWindow } from '../src/slidingWindow';
import { ManualClock } from './support';

describe('SlidingWindow', () => {
  it('sums what was added within the window', () => {
    const clock = new ManualClock(0);
    const window = new SlidingWindow(['a', 'b'], 1_000, clock, 10);
    window.add('a');
    window.add('a', 2);
    window.add('b');
    expect(window.sums()).toEqual({ a: 3, b: 1 });
  });

  it('drops counts slot by slot as they leave the window', () => {
    const clock = new ManualClock(0);
    const window = new SlidingWindow(['n'], 1_000, clock, 10);
    window.add('n'); // slot [0, 100)
    clock.advance(500);
    window.add('n', 10); // slot [500, 600)
    clock.advance(499); // 999: both still inside
    expect(window.sums().n).toBe(11);
    clock.advance(1); // 1000: the first slot is out
    expect(window.sums().n).toBe(10);
    clock.advance(500); // 1500: the second is out too
    expect(window.sums().n).toBe(0);
  });

  it('forgets everything after a gap longer than the window', () => {
    const clock = new ManualClock(0);
    const window = new SlidingWindow(['n'], 1_000, clock, 4);
    for (let i = 0; i < 4; i++) {
      window.add('n');
      clock.advance(250);
    }
    clock.advance(10_000);
    expect(window.sums().n).toBe(0);
    window.add('n');
    expect(window.sums().n).toBe(1);
  });

  it('keeps counting in the current slot when the clock steps back', () => {
    const clock = new ManualClock(10_000);
    const window = new SlidingWindow(['n'], 1_000, clock, 10);
    window.add('n');
    clock.advance(-5_000);
    window.add('n');
    expect(window.sums().n).toBe(2);
  });

  it('refuses a window or bucket count that makes no sense', () => {
    const clock = new ManualClock(0);
    expect(() => new SlidingWindow(['n'], 0, clock)).toThrow(RangeError);
    expect(() => new SlidingWindow(['n'], 1_000, clock, 0)).toThrow(RangeError);
  });
});
