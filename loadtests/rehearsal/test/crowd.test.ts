import { compression, crowdPlan, crowdTimes, rateAt } from '../src/crowd';

describe("the crowd's shape", () => {
  const plan = crowdPlan(false, 10);
  const at = crowdTimes(plan);

  it('is an ordinary hour compressed into its first minute, with its slice opening', () => {
    expect(compression(plan)).toBe(60);
    expect(rateAt(plan, 0)).toBe(10);
    expect(rateAt(plan, at.sliceAt)).toBe(30);
    expect(rateAt(plan, at.sliceAt + plan.slice.seconds)).toBe(10);
    expect(rateAt(plan, at.stepAt - 1)).toBe(10);
  });

  it('steps to 15 times the ordinary rate within a minute, and holds it', () => {
    expect(at.stepFullAt - at.stepAt).toBeLessThanOrEqual(60);
    expect(rateAt(plan, at.stepAt + plan.step.rampSeconds / 2)).toBeCloseTo(80);
    expect(rateAt(plan, at.stepFullAt)).toBe(150);
    expect(rateAt(plan, at.holdEnd - 1)).toBe(150);
    for (let t = at.stepAt; t < at.stepFullAt; t += 1)
      expect(rateAt(plan, t + 1)).toBeGreaterThanOrEqual(rateAt(plan, t));
  });

  it("thins out with the next slice's herd, and ends", () => {
    expect(rateAt(plan, at.holdEnd)).toBe(20);
    expect(rateAt(plan, at.tailSliceAt)).toBe(60);
    expect(rateAt(plan, at.end)).toBe(0);
    expect(rateAt(plan, -1)).toBe(0);
  });

  it('keeps a short run under two minutes of crowd, and the full one under five', () => {
    expect(crowdTimes(crowdPlan(true, 10)).end).toBeLessThanOrEqual(160);
    expect(at.end).toBeLessThanOrEqual(300);
  });
});
