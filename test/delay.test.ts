// dm-delay on an in-process kernel with a virtual clock: held I/O costs no
// wall time and is deterministic. Expected strings are the oracle's
// (scenarios 020, 106, 107).

import t from 'tap';
import * as fs from 'node:fs';
import { delayTarget } from '../targets/delay.js';
import { Bio, ReqOp, REQ_PREFLUSH, submitBio, type BlkStatus } from '../kernel/bio.js';
import type { Kernel } from '../kernel/kernel.js';
import type { MappedDevice } from '../kernel/dm.js';
import { kernelWithDisks, expectRefusals } from './helpers/kernel.js';

const SECTORS = 16384;

function setup(t: { teardown(fn: () => void): void }, disks = 1) {
  return kernelWithDisks(t, disks, SECTORS);
}

async function create(kernel: Kernel, name: string, table: string): Promise<MappedDevice> {
  kernel.dmIoctl.devCreate(name);
  const [start, length, type, ...rest] = table.split(' ');
  kernel.dmIoctl.tableLoad({ name }, [{ start: Number(start), length: Number(length), type: type!, params: rest.join(' ') }]);
  await kernel.dmIoctl.devResume({ name });
  return kernel.dmIoctl.deviceByName(name)!;
}

const line = (kernel: Kernel, name: string, type: 'table' | 'info') =>
  kernel.dmIoctl.tableStatus({ name }, type).targets.map((s) => `${s.start} ${s.length} ${s.type} ${s.params}`).join('\n');

/** Submit a bio and note the virtual time at which it completes. */
function submit(kernel: Kernel, bio: Bio): { done: Promise<{ status: BlkStatus; at: number }> } {
  const done = new Promise<{ status: BlkStatus; at: number }>((resolve) => {
    bio.endIo = (b) => resolve({ status: b.status, at: kernel.clock.nowMs() });
  });
  submitBio(bio);
  return { done };
}

const fill = (n: number, byte: number) => Buffer.alloc(n * 512, byte);
function leg(file: string, sector: number, n: number): Buffer {
  const b = Buffer.alloc(n * 512);
  const fd = fs.openSync(file, 'r');
  try { fs.readSync(fd, b, 0, b.length, sector * 512); } finally { fs.closeSync(fd); }
  return b;
}

t.test('the target type', async (t) => {
  t.equal(delayTarget.name, 'delay');
  t.same(delayTarget.version, [1, 3, 0]);
});

t.test('table and status text for 3, 6 and 9 arguments (scenarios 020, 106)', async (t) => {
  const { kernel } = setup(t, 3);
  const cases: Array<[string, string]> = [
    ['0 8192 delay /dev/loop0 0 50', '0 8192 delay 7:0 0 50'],
    ['0 8192 delay /dev/loop0 0 10 /dev/loop0 0 20', '0 8192 delay 7:0 0 10 7:0 0 20'],
    ['0 8192 delay /dev/loop0 0 100', '0 8192 delay 7:0 0 100'],
    ['0 4096 delay /dev/loop0 4096 0 7:1 16 200', '0 4096 delay 7:0 4096 0 7:1 16 200'],
    ['0 4096 delay /dev/loop0 0 0 /dev/loop1 0 0 /dev/loop2 8 300', '0 4096 delay 7:0 0 0 7:1 0 0 7:2 8 300'],
    ['0 8192 delay /dev/loop2 0 0', '0 8192 delay 7:2 0 0'],
    ['0 8192 delay /dev/loop0 0 4294967296 /dev/loop1 0 4294967295', '0 8192 delay 7:0 0 0 7:1 0 4294967295'],
  ];
  let i = 0;
  for (const [table, want] of cases) {
    const name = `d${i++}`;
    await create(kernel, name, table);
    t.equal(line(kernel, name, 'table'), want, table);
    t.equal(line(kernel, name, 'info'), `${want.split(' ').slice(0, 3).join(' ')} 0 0 0`, `${table}: status`);
  }
  const deps = (name: string) => kernel.dmIoctl.tableDeps({ name }).deps.map((d) => `(${d.major}, ${d.minor})`).join(' ');
  t.equal(deps('d2'), '(7, 0)');
  t.equal(deps('d3'), '(7, 1) (7, 0)');
  t.equal(deps('d4'), '(7, 2) (7, 1) (7, 0)');
});

t.test('constructor refusals (scenario 106)', async (t) => {
  const { kernel } = setup(t, 3);
  const cases: Array<[string, string]> = [
    ['', 'Requires exactly 3, 6 or 9 arguments (-EINVAL)'],
    ['/dev/loop0 0', 'Requires exactly 3, 6 or 9 arguments (-EINVAL)'],
    ['/dev/loop0 0 1 /dev/loop1', 'Requires exactly 3, 6 or 9 arguments (-EINVAL)'],
    ['/dev/loop0 0 1 /dev/loop1 0 1 /dev/loop2 0', 'Requires exactly 3, 6 or 9 arguments (-EINVAL)'],
    ['/dev/loop0 0 1 /dev/loop1 0 1 /dev/loop2 0 1 x', 'Requires exactly 3, 6 or 9 arguments (-EINVAL)'],
    ['/dev/loop0 x 1', 'Invalid device sector (-EINVAL)'],
    ['/dev/loop0 0 x', 'Invalid delay (-EINVAL)'],
    ['/dev/loop0 0 -1', 'Invalid delay (-EINVAL)'],
    ['/dev/loop0 0 1x', 'Invalid delay (-EINVAL)'],
    ['/dev/nosuch 0 1', 'Device lookup failed (-ENODEV)'],
    ['/dev/loop0 0 1 /dev/loop1 y 1', 'Invalid device sector (-EINVAL)'],
    ['/dev/loop0 0 1 /dev/loop1 0 z', 'Invalid delay (-EINVAL)'],
    ['/dev/loop0 0 1 /dev/nosuch 0 1', 'Device lookup failed (-ENODEV)'],
    ['/dev/loop0 0 1 /dev/loop1 0 1 /dev/nosuch 0 1', 'Device lookup failed (-ENODEV)'],
    ['/dev/nosuch 0 1 /dev/loop1 x 1', 'Device lookup failed (-ENODEV)'],
  ];
  expectRefusals(t, kernel, 'delay', cases);
  for (let i = 0; i < 3; i++) t.equal(kernel.loop(i)!.openCount, 0, `loop${i} released`);
});

t.test('each class is held for its own delay, on its own device', async (t) => {
  const { kernel, files } = setup(t, 3);
  const md = await create(kernel, 'd9', '0 4096 delay /dev/loop0 0 100 /dev/loop1 16 200 /dev/loop2 8 300');
  const t0 = kernel.clock.nowMs();
  const r = submit(kernel, new Bio(ReqOp.READ, md, 0, Buffer.alloc(4096)));
  const w = submit(kernel, new Bio(ReqOp.WRITE, md, 0, fill(8, 3)));
  const f = submit(kernel, new Bio(ReqOp.FLUSH, md, 0, Buffer.alloc(0)));
  const fua = submit(kernel, new Bio(ReqOp.WRITE, md, 8, fill(8, 4), null, REQ_PREFLUSH));
  t.equal(line(kernel, 'd9', 'info'), '0 4096 delay 1 1 2', 'held: one read, one write, two flushes');
  t.same(leg(files[1]!, 16, 8), fill(8, 0), 'nothing written yet');
  const [rr, ww, ff, pf] = await Promise.all([r.done, w.done, f.done, fua.done]);
  t.same([rr.status, ww.status, ff.status, pf.status], [0, 0, 0, 0]);
  t.equal(rr.at - t0, 100, 'reads after 100 ms');
  t.equal(ww.at - t0, 200, 'writes after 200 ms');
  t.equal(ff.at - t0, 300, 'flushes after 300 ms');
  // dm core sends a flush with data as an empty flush first (the flush class),
  // then the payload without REQ_PREFLUSH (the write class): 300 + 200 ms.
  t.equal(pf.at - t0, 500, 'a write with REQ_PREFLUSH: its flush in the flush class, then its data in the write class');
  t.same(leg(files[1]!, 16, 8), fill(8, 3), 'the write went to loop1 at 16');
  t.same(leg(files[1]!, 16 + 8, 8), fill(8, 4), 'the preflush write\'s data went to loop1 at 16 + 8');
  t.equal(line(kernel, 'd9', 'info'), '0 4096 delay 0 0 0');
});

t.test('three arguments: one group for every class; 0 passes straight through', async (t) => {
  const { kernel } = setup(t, 1);
  const md = await create(kernel, 'dl', '0 8192 delay /dev/loop0 0 50');
  const t0 = kernel.clock.nowMs();
  const w = submit(kernel, new Bio(ReqOp.WRITE, md, 0, fill(8, 2)));
  const f = submit(kernel, new Bio(ReqOp.FLUSH, md, 0, Buffer.alloc(0)));
  t.equal(line(kernel, 'dl', 'info'), '0 8192 delay 0 1 1');
  const [ww, ff] = await Promise.all([w.done, f.done]);
  // msecs_to_jiffies(50) at HZ=250 is 13 jiffies: 52 ms.
  t.equal(ww.at - t0, 52);
  t.equal(ff.at - t0, 52);
  const z = await create(kernel, 'dz', '0 8192 delay /dev/loop0 0 0');
  const t1 = kernel.clock.nowMs();
  const zr = submit(kernel, new Bio(ReqOp.READ, z, 0, Buffer.alloc(4096)));
  t.equal(line(kernel, 'dz', 'info'), '0 8192 delay 0 0 0', 'nothing held');
  t.equal((await zr.done).at, t1);
});

t.test('bios leave in order of expiry, one timer re-armed for the earliest', async (t) => {
  const { kernel, clock } = setup(t, 2);
  const md = await create(kernel, 'd6', '0 8192 delay /dev/loop0 0 400 /dev/loop1 0 100');
  const order: string[] = [];
  const mk = (op: ReqOp, tag: string) => {
    const b = new Bio(op, md, 0, Buffer.alloc(512));
    return new Promise<void>((resolve) => { b.endIo = () => { order.push(`${tag}@${clock.nowMs()}`); resolve(); }; submitBio(b); });
  };
  const a = mk(ReqOp.READ, 'r1');
  clock.advance(200);
  const b = mk(ReqOp.WRITE, 'w1');
  const c = mk(ReqOp.READ, 'r2');
  await Promise.all([a, b, c]);
  t.same(order, ['w1@300', 'r1@400', 'r2@600']);
});

t.test('suspend sends what is held at once and stops delaying; resume delays again (scenario 107)', async (t) => {
  const { kernel, clock, files } = setup(t, 1);
  const md = await create(kernel, 'dl', '0 8192 delay /dev/loop0 0 0 /dev/loop0 0 5000');
  t.equal(line(kernel, 'dl', 'info'), '0 8192 delay 0 0 0');
  const t0 = clock.nowMs();
  const w = submit(kernel, new Bio(ReqOp.WRITE, md, 0, fill(8, 1)));
  t.equal(line(kernel, 'dl', 'info'), '0 8192 delay 0 1 0');
  t.same(leg(files[0]!, 0, 8), fill(8, 0));
  clock.advance(1000);
  await kernel.dmIoctl.devSuspend({ name: 'dl' });
  const ww = await w.done;
  t.equal(ww.at - t0, 1000, 'released by the suspend, not by the timer');
  t.equal(line(kernel, 'dl', 'info'), '0 8192 delay 0 0 0');
  t.same(leg(files[0]!, 0, 8), fill(8, 1));
  t.equal(kernel.dmIoctl.devStatus({ name: 'dl' }).suspended, true);
  await kernel.dmIoctl.devResume({ name: 'dl' });
  const t1 = clock.nowMs();
  const w2 = submit(kernel, new Bio(ReqOp.WRITE, md, 8, fill(8, 2)));
  t.equal(line(kernel, 'dl', 'info'), '0 8192 delay 0 1 0', 'delaying again after resume');
  await kernel.dmIoctl.devResume({ name: 'dl' });
  t.equal(line(kernel, 'dl', 'info'), '0 8192 delay 0 1 0', 'resuming a live device releases nothing');
  t.equal((await w2.done).at - t1, 5000);
  t.equal(line(kernel, 'dl', 'info'), '0 8192 delay 0 0 0');
  t.same(leg(files[0]!, 8, 8), fill(8, 2));
  t.same(kernel.klog.read().filter((l) => l.text.startsWith('device-mapper:')), []);
});

t.test('a held bio survives a table swap: presuspend of the old table sends it', async (t) => {
  const { kernel, files } = setup(t, 1);
  const md = await create(kernel, 'dl', '0 8192 delay /dev/loop0 0 1000');
  const w = submit(kernel, new Bio(ReqOp.WRITE, md, 0, fill(1, 6)));
  kernel.dmIoctl.tableLoad({ name: 'dl' }, [{ start: 0, length: 8192, type: 'linear', params: '/dev/loop0 0' }]);
  await kernel.dmIoctl.devResume({ name: 'dl' });
  t.equal((await w.done).status, 0);
  t.same(leg(files[0]!, 0, 1), fill(1, 6));
  t.equal(kernel.loop(0)!.openCount, 1, 'the old table let go of its device');
});
