// The kernel's clocks: the virtual clock moves only when nothing else can run.

import t from 'tap';
import { RealClock, VirtualClock } from '../../kernel/clock.js';

t.test('virtual: a promise continuation of finished work sees time unmoved', async (t) => {
  const clock = new VirtualClock();
  let fired = false;
  clock.setTimer(1000, () => { fired = true; });
  await new Promise<void>((resolve) => clock.defer(resolve));
  t.equal(clock.nowMs(), 0, 'the pending timer did not jump time under the awaiting code');
  t.equal(fired, false);
  await clock.settle();
  t.equal(fired, true);
  t.equal(clock.nowMs(), 1000);
});

t.test('virtual: a chain of awaited steps runs before time passes', async (t) => {
  const clock = new VirtualClock();
  const seen: number[] = [];
  clock.setTimer(500, () => seen.push(-1));
  for (let i = 0; i < 5; i++) {
    await new Promise<void>((resolve) => clock.defer(resolve));
    seen.push(clock.nowMs());
  }
  await clock.settle();
  t.same(seen, [0, 0, 0, 0, 0, -1]);
});

t.test('virtual: timers fire in time order, ties in the order set; cancel works', async (t) => {
  const clock = new VirtualClock();
  const order: string[] = [];
  clock.setTimer(30, () => order.push(`c@${clock.nowMs()}`));
  clock.setTimer(10, () => order.push(`a@${clock.nowMs()}`));
  clock.setTimer(10, () => order.push(`b@${clock.nowMs()}`));
  const x = clock.setTimer(20, () => order.push('x'));
  x.cancel();
  clock.setTimer(-5, () => order.push(`now@${clock.nowMs()}`));
  clock.setTimer(NaN, () => order.push(`nan@${clock.nowMs()}`));
  await clock.settle();
  t.same(order, ['now@0', 'nan@0', 'a@10', 'b@10', 'c@30']);
});

t.test('virtual: advance runs what falls due, in order, and stops at the target', async (t) => {
  const clock = new VirtualClock(false);
  const order: string[] = [];
  clock.setTimer(100, () => { order.push(`a@${clock.nowMs()}`); clock.setTimer(50, () => order.push(`b@${clock.nowMs()}`)); });
  clock.setTimer(400, () => order.push('late'));
  clock.advance(200);
  t.same(order, ['a@100', 'b@150']);
  t.equal(clock.nowMs(), 200);
  await clock.settle();
  t.same(order, ['a@100', 'b@150'], 'without autoAdvance, settle does not move time');
  clock.advance(200);
  t.same(order, ['a@100', 'b@150', 'late']);
});

t.test('virtual without autoAdvance: settle runs timers that are already due', async (t) => {
  const clock = new VirtualClock(false);
  let ran = false;
  clock.setTimer(0, () => { ran = true; });
  await clock.settle();
  t.equal(ran, true);
});

t.test('a throwing work item does not lose the rest of its batch', async (t) => {
  const clock = new VirtualClock(false);
  const ran: number[] = [];
  clock.defer(() => ran.push(1));
  clock.defer(() => { throw new Error('boom'); });
  clock.defer(() => ran.push(3));
  t.throws(() => clock.advance(0), /boom/);
  t.same(ran, [1]);
  clock.advance(0);
  t.same(ran, [1, 3]);
});

t.test('real: a cancelled timer never runs, even once it has fired', async (t) => {
  const clock = new RealClock();
  let ran = false;
  const timer = clock.setTimer(1, () => { ran = true; });
  // Fires in the same timers phase, just after the clock's own timeout has
  // queued the function and before the queue is drained.
  setTimeout(() => timer.cancel(), 1);
  // Both 1 ms timers must be due when the timers phase runs, or the second
  // one waits for the next loop turn, after the clock's queue is drained.
  const until = performance.now() + 5;
  while (performance.now() < until) { /* spin */ }
  await new Promise((resolve) => setTimeout(resolve, 20));
  await clock.settle();
  t.equal(ran, false);
});
