import { parseSettings, UsageError } from '../src/settings';

describe('settings: below capacity and overload', () => {
  it('runs the open model at 0.5x and 0.7x and the capped overload at 0.5x-30x by default, the service with and without its overload actions', () => {
    const settings = parseSettings([]);
    expect(settings.open.multiples).toEqual([0.5, 0.7]);
    expect(settings.overload).toMatchObject({
      share: 0.25,
      capacityServers: ['naive', 'service-off'],
      multiples: [0.5, 3, 10, 30],
      servers: ['naive', 'service', 'service-actions'],
    });
    expect(settings.profile).toBe('always');
    expect(parseSettings(['--no-profile']).profile).toBe('never');
  });

  it('takes other overload loads, and refuses nonsense', () => {
    expect(parseSettings(['--overload-multiples', '3,10']).overload.multiples).toEqual([3, 10]);
    expect(() => parseSettings(['--overload-multiples', '0'])).toThrow(UsageError);
    expect(() => parseSettings(['--overload-multiples', 'x'])).toThrow(UsageError);
  });

  it('keeps --quick to one round of shorter points', () => {
    const quick = parseSettings(['--quick']);
    expect(quick.repeat).toBe(1);
    expect(quick.overload.holdMs).toBeLessThan(parseSettings([]).overload.holdMs);
    expect(quick.overload.multiples).toEqual([0.5, 3, 10, 30]);
  });
});
