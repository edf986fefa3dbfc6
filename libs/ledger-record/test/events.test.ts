import {
  compareStreamIds,
  completeThroughId,
  integerField,
  parseStreamId,
  RecordFault,
  type StreamEvent,
} from '../src';

const event = (fields: Record<string, string>): StreamEvent => ({
  campaignId: 'c',
  shard: 0,
  streamId: '1-0',
  fields,
});

describe('stream ids and event fields', () => {
  it('orders stream ids by number, milliseconds first, past 2^53', () => {
    expect(compareStreamIds('9-0', '10-0')).toBe(-1);
    expect(compareStreamIds('10-2', '10-10')).toBe(-1);
    expect(compareStreamIds('10-10', '10-10')).toBe(0);
    expect(compareStreamIds('9007199254740993-0', '9007199254740992-0')).toBe(1);
    expect(compareStreamIds('1-18446744073709551615', '1-18446744073709551614')).toBe(1);
  });

  it('refuses what is not a stream id', () => {
    for (const bad of ['', '1', '1-', '-1', '1-2-3', 'a-1', '1.5-0'])
      expect(() => parseStreamId(bad)).toThrow(RecordFault);
  });

  it('takes a completeness point as a stream id or as epoch ms (every event of that ms)', () => {
    expect(completeThroughId('1700000000000-3')).toBe('1700000000000-3');
    expect(compareStreamIds('1700000000000-99', completeThroughId('1700000000000'))).toBe(-1);
    expect(() => completeThroughId('yesterday')).toThrow(RecordFault);
  });

  it('keeps integer fields as exact text and refuses fractions, exponents and missing ones', () => {
    expect(integerField(event({ valueFen: '90071992547409930' }), 'valueFen', true)).toBe(
      '90071992547409930',
    );
    expect(integerField(event({ discountFen: '-2500' }), 'discountFen', true)).toBe('-2500');
    for (const bad of ['25.5', '1e3', ' 1', '0x10'])
      expect(() => integerField(event({ valueFen: bad }), 'valueFen', true)).toThrow(
        /valueFen is not an integer/,
      );
    expect(() => integerField(event({}), 'valueFen', true)).toThrow(/has no valueFen/);
    expect(integerField(event({}), 'keepUntil', false)).toBeUndefined();
  });
});
