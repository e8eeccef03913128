import { heapBudget } from '../../lib/synth/heap';

describe('heapBudget', () => {
  it('collects only when the heap in use grew by the budget since the last collection', () => {
    // GIVEN a heap that grows by 10 units per check and drops to 5 when collected
    let used = 0;
    let collections = 0;
    const check = heapBudget(25, () => {
      collections++;
      used = 5;
    }, () => used);
    // WHEN it is checked as the heap grows
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      used += 10;
      check();
      seen.push(collections);
    }
    // THEN it collects at 30 (30 - 0 ≥ 25), then again at 35 (35 - 5 ≥ 25), not in between
    expect(seen).toEqual([0, 0, 1, 1, 1, 2]);
  });

  it('never collects while the heap stays within the budget', () => {
    let collections = 0;
    const check = heapBudget(100, () => collections++, () => 50);
    for (let i = 0; i < 10; i++) check();
    expect(collections).toBe(0);
  });
});
