import { parseCpu, parseScriptCalls } from '../src/redisStats';

describe('INFO parsing', () => {
  it('adds system and user CPU', () => {
    expect(
      parseCpu('# CPU\r\nused_cpu_sys:1.25\r\nused_cpu_user:2.5\r\nused_cpu_sys_children:9\r\n'),
    ).toBe(3.75);
  });

  it('counts EVALSHA and the EVAL fallback together', () => {
    const info = [
      '# Commandstats',
      'cmdstat_evalsha:calls=1000,usec=61000,usec_per_call=61.00,rejected_calls=0,failed_calls=0',
      'cmdstat_eval:calls=1,usec=90,usec_per_call=90.00,rejected_calls=0,failed_calls=0',
      'cmdstat_get:calls=5,usec=5,usec_per_call=1.00,rejected_calls=0,failed_calls=0',
    ].join('\r\n');
    expect(parseScriptCalls(info)).toEqual({ calls: 1001, usec: 61090 });
  });
});
