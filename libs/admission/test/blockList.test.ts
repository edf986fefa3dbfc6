import { BlockList } from '../src';

describe('BlockList', () => {
  it('blocks until the moment given, exactly', () => {
    const list = new BlockList();
    list.block('u1', 2000, 1000);
    expect(list.blockedMs('u1', 1000)).toBe(1000);
    expect(list.blockedMs('u1', 1999)).toBe(1);
    expect(list.blockedMs('u1', 2000)).toBe(0);
    expect(list.blockedMs('u2', 1000)).toBe(0);
  });

  it('sweeps expired entries as it adds, and never holds more than its bound', () => {
    const list = new BlockList(100);
    for (let i = 0; i < 50; i++) list.block(`old${i}`, 1000, 0);
    // Each later block sweeps up to 4 expired ones from the front.
    for (let i = 0; i < 20; i++) list.block(`new${i}`, 5000, 2000);
    expect(list.size).toBe(20);
    for (let i = 0; i < 500; i++) list.block(`more${i}`, 9000, 2000);
    expect(list.size).toBe(100);
    expect(list.blockedMs('more499', 2000)).toBe(7000);
  });
});
