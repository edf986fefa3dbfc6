import { alternatingOrder } from '../src/order';
import { clientsOrder } from '../src/clientsBook';

describe('alternatingOrder', () => {
  it('runs every item once per round, rounds outermost', () => {
    expect(alternatingOrder(['naive', 'service-off', 'service'], 2)).toEqual([
      { item: 'naive', round: 0 },
      { item: 'service-off', round: 0 },
      { item: 'service', round: 0 },
      { item: 'naive', round: 1 },
      { item: 'service-off', round: 1 },
      { item: 'service', round: 1 },
    ]);
  });

  it("never runs one item's repeats back to back when there are two items or more", () => {
    for (const items of [
      ['a', 'b'],
      ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
    ])
      for (const rounds of [1, 2, 3, 5]) {
        const order = alternatingOrder(items, rounds);
        expect(order).toHaveLength(items.length * rounds);
        order.slice(1).forEach((entry, i) => expect(entry.item).not.toBe(order[i]!.item));
      }
  });

  it('orders the clients section the same way, raw and client alternating', () => {
    expect(clientsOrder(2, [3, 10]).map((p) => `${p.round}:${p.multiple}:${p.mode}`)).toEqual([
      '0:3:raw',
      '0:3:client',
      '0:10:raw',
      '0:10:client',
      '1:3:raw',
      '1:3:client',
      '1:10:raw',
      '1:10:client',
    ]);
  });
});
