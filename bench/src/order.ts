/**
 * The order of a section's points: rounds outermost, every item once per round. A slow drift of
 * the machine (another tenant, thermal limits, a neighbour's build) then hits every item alike,
 * and no item's repeats run back to back (with two items or more).
 */
export function alternatingOrder<T>(
  items: readonly T[],
  rounds: number,
): { item: T; round: number }[] {
  const order: { item: T; round: number }[] = [];
  for (let round = 0; round < rounds; round++)
    for (const item of items) order.push({ item, round });
  return order;
}
