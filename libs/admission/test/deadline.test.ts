import { Deadline, deadlineFrom } from '../src';

const options = { defaultMs: 2000, maxMs: 5000 };
const at = (header: string | string[] | undefined) =>
  deadlineFrom({ 'x-request-timeout-ms': header }, 10_000, options).atMs - 10_000;

describe('deadlines', () => {
  it('takes X-Request-Timeout-Ms, caps it, and defaults when absent or malformed', () => {
    expect(at('750')).toBe(750);
    expect(at('5000')).toBe(5000);
    expect(at('5001')).toBe(5000);
    expect(at('999999999')).toBe(5000);
    for (const bad of [
      undefined,
      '',
      '0',
      '-5',
      '1.5',
      '1e3',
      ' 100',
      'abc',
      '1234567890',
      ['100'],
    ]) {
      expect(at(bad)).toBe(2000);
    }
  });

  it('knows what remains and when it is over', () => {
    const deadline = new Deadline(1500);
    expect(deadline.remainingMs(1000)).toBe(500);
    expect(deadline.remainingMs(1499)).toBe(1);
    expect(deadline.remainingMs(1500)).toBe(0);
    expect(deadline.remainingMs(1600)).toBe(-100);
  });
});
