// Kernel mechanisms in process: printk rate limiting per call site, work items,
// dm-kcopyd's sub-jobs, DM_MAPIO_KILL skipping end_io, u64 sectors on the wire.

import t from 'tap';
import * as fs from 'node:fs';
import { VirtualClock } from '../../kernel/clock.js';
import { KernelLog, RatelimitSite } from '../../kernel/klog.js';
import { Workqueue, WorkStruct, scheduleWork } from '../../kernel/workqueue.js';
import { KcopydClient, DM_KCOPYD_IGNORE_ERROR } from '../../kernel/dm-kcopyd.js';
import { Bio, ReqOp, submitBioWait } from '../../kernel/bio.js';
import { DmMapio, type Target } from '../../kernel/dm-target.js';
import { encodeFrame, FrameReader } from '../../kernel/protocol.js';
import { createDevice, kernelWithDisks } from '../helpers/kernel.js';

t.test('DMERR_LIMIT: 10 per 5 s per call site, then "func: N callbacks suppressed"', async (t) => {
  const clock = new VirtualClock(false);
  const klog = new KernelLog(clock);
  const a = new RatelimitSite('recovery_complete');
  const b = new RatelimitSite('read_callback');
  const log = klog.prefixed('raid1');
  for (let i = 0; i < 25; i++) log.errLimit(a, `a${i}`);
  for (let i = 0; i < 3; i++) log.warnLimit(b, `b${i}`);
  let lines = klog.read(true).map((l) => l.text);
  t.equal(lines.filter((l) => l.includes(': a')).length, 10, 'a burst of 10');
  t.equal(lines.filter((l) => l.includes(': b')).length, 3, 'another call site is not limited by the first');
  clock.advance(5000);
  log.errLimit(a, 'late');
  t.same(klog.read(true).map((l) => l.text), [], 'exactly 5 s (1250 jiffies) later is still the same window');
  clock.advance(4);
  log.errLimit(a, 'next');
  lines = klog.read(true).map((l) => l.text);
  t.same(lines, ['recovery_complete: 16 callbacks suppressed', 'device-mapper: raid1: next']);
});

t.test('work items: queue_work on a pending item is a no-op; requeued while running runs once more', async (t) => {
  const clock = new VirtualClock();
  let runs = 0;
  const wq = new Workqueue(clock, 'test');
  let requeue = true;
  const w = new WorkStruct(() => {
    runs++;
    if (requeue) { requeue = false; t.equal(wq.queueWork(w), true, 'queued again while it runs'); }
  });
  t.equal(wq.queueWork(w), true);
  t.equal(wq.queueWork(w), false, 'already pending');
  await wq.flush();
  t.equal(runs, 2);
  let events = 0;
  const ev = new WorkStruct(() => { events++; });
  scheduleWork(clock, ev);
  scheduleWork(clock, ev);
  await clock.settle();
  t.equal(events, 1, 'schedule_work twice before it runs: one run');
});

t.test('kcopyd: a split job copies around a chunk it cannot read; write errors are per destination', async (t) => {
  const { kernel, files } = kernelWithDisks(t, 3, 16384);
  const io = kernel.dmIoctl;
  fs.writeFileSync(files[0]!, Buffer.alloc(8192 * 512, 0x41));
  await createDevice(kernel, 'src', [
    { start: 0, length: 2048, type: 'linear', params: '/dev/loop0 0' },
    { start: 2048, length: 1024, type: 'error', params: '' },
    { start: 3072, length: 13312, type: 'linear', params: '/dev/loop0 3072' },
  ]);
  await createDevice(kernel, 'dst', [
    { start: 0, length: 4096, type: 'linear', params: '/dev/loop1 0' },
    { start: 4096, length: 1024, type: 'error', params: '' },
    { start: 5120, length: 11264, type: 'linear', params: '/dev/loop1 5120' },
  ]);
  const src = io.deviceByName('src')!, dst = io.deviceByName('dst')!;
  const loop2 = kernel.loop(2)!;
  const kc = new KcopydClient();
  const [r, w] = await new Promise<[number, number]>((resolve) => kc.copy({ bdev: src, sector: 0, count: 8192 },
    [{ bdev: dst, sector: 0, count: 8192 }, { bdev: loop2, sector: 0, count: 8192 }], 0, (r, w) => resolve([r, w])));
  t.equal(r, 1, 'read_err');
  t.equal(w, 1, 'write_err: bit 0, the first destination');
  const chunk = (f: string, n: number) => fs.readFileSync(f).subarray(n * 1024 * 512, (n + 1) * 1024 * 512);
  for (let n = 0; n < 8; n++) {
    const want = n === 2 ? 0 : 0x41;
    t.ok(chunk(files[2]!, n).every((b) => b === want), `second destination, chunk ${n}: ${n === 2 ? 'not read, not written' : 'copied'}`);
    t.ok(chunk(files[1]!, n).every((b) => b === (n === 4 ? 0 : want)), `first destination, chunk ${n}`);
  }
  // With DM_KCOPYD_IGNORE_ERROR a job of 16 chunks goes on past the errors.
  fs.writeFileSync(files[2]!, Buffer.alloc(0));
  fs.truncateSync(files[2]!, 16384 * 512);
  const [r2] = await new Promise<[number, number]>((resolve) => kc.copy({ bdev: src, sector: 0, count: 16384 },
    [{ bdev: loop2, sector: 0, count: 16384 }], DM_KCOPYD_IGNORE_ERROR, (r, w) => resolve([r, w])));
  t.equal(r2, 1);
  t.ok(chunk(files[2]!, 7).every((b) => b === 0x41) && chunk(files[2]!, 3).every((b) => b === 0x41));
  await kernel.shutdown();
});

t.test('DM_MAPIO_KILL fails the bio without calling the target end_io', async (t) => {
  const { kernel } = kernelWithDisks(t, 0, 0);
  let endIoCalls = 0;
  const killer: Target = { map: () => DmMapio.KILL, endIo: () => { endIoCalls++; return 0; } };
  kernel.targetTypes.register({ name: 'killer', version: [1, 0, 0], ctr: () => killer });
  const io = kernel.dmIoctl;
  await createDevice(kernel, 'k', [{ start: 0, length: 8, type: 'killer', params: '' }]);
  t.equal(await submitBioWait(new Bio(ReqOp.READ, io.deviceByName('k')!, 0, Buffer.alloc(512))), 'EIO');
  t.equal(endIoCalls, 0);
  await kernel.shutdown();
});

t.test('u64 sectors cross the socket exactly', async (t) => {
  const head = { targets: [{ start: 18446744073709551615n, length: 9007199254740993n, type: 'zero', params: '$u64' }] };
  const [f] = new FrameReader<typeof head>().push(encodeFrame(head));
  t.same(f!.head, head);
  t.equal(typeof f!.head.targets[0]!.start, 'bigint');
});

t.test('bio_check_eod: a bio past its device fails with EIO, logged under the submitter, 10 per 5 s', async (t) => {
  const { kernel } = kernelWithDisks(t, 1, 8);
  const clock = kernel.clock as VirtualClock;
  const loop0 = kernel.loop(0)!, loop5 = kernel.loop(5)!;
  kernel.klog.read(true);
  t.equal(await submitBioWait(new Bio(ReqOp.READ, loop0, 0, Buffer.alloc(8 * 512))), 0, 'a bio inside the device is sent');
  const past = new Bio(ReqOp.WRITE, loop0, 4, Buffer.alloc(8 * 512));
  past.comm = 'dd';
  t.equal(await submitBioWait(past), 'EIO', 'one that ends past it is not');
  t.same(kernel.klog.read(true).map((l) => l.text), ['dd: attempt to access beyond end of device', 'loop0: rw=1, sector=4, nr_sectors = 8 limit=8']);
  for (let i = 0; i < 11; i++) t.equal(await submitBioWait(new Bio(ReqOp.READ, loop5, i, Buffer.alloc(512))), 'EIO', 'a device of size 0 has no sector at all');
  const lines = kernel.klog.read(true).map((l) => l.text);
  t.equal(lines.length, 18, 'nine more messages, the tenth of the burst and on suppressed');
  t.equal(lines[1], 'loop5: rw=0, sector=0, nr_sectors = 1 limit=0');
  t.equal(lines[0], 'kworker/0:1: attempt to access beyond end of device', "the kernel's own bios come from a kworker");
  t.equal(await submitBioWait(new Bio(ReqOp.FLUSH, loop0, 9, Buffer.alloc(0))), 0, 'an empty flush has no sectors to check');
  clock.advance(5100);
  await submitBioWait(new Bio(ReqOp.READ, loop5, 0, Buffer.alloc(512)));
  t.same(kernel.klog.read(true).map((l) => l.text)[0], 'bio_check_eod: 2 callbacks suppressed');
});

t.test('loop: lo_offset and lo_sizelimit place and size the device in its file', async (t) => {
  const { kernel, files } = kernelWithDisks(t, 1, 16);
  const data = Buffer.alloc(16 * 512);
  for (let i = 0; i < 16; i++) data.fill(i, i * 512, (i + 1) * 512);
  fs.writeFileSync(files[0]!, data);
  kernel.loop(0)!.detach();
  const l = kernel.loopAttach(0, files[0]!, { offset: 4 * 512, sizelimit: 3 * 512 + 100 });
  t.equal(l.sizeSectors(), 3, 'file less the offset, at most the limit, in whole sectors');
  const buf = Buffer.alloc(512);
  t.equal(await submitBioWait(new Bio(ReqOp.READ, l, 2, buf)), 0);
  t.equal(buf[0], 6, 'sector 2 of the device is sector 6 of the file');
  t.equal(await submitBioWait(new Bio(ReqOp.WRITE, l, 0, Buffer.alloc(512, 0xee))), 0);
  t.equal(fs.readFileSync(files[0]!)[4 * 512], 0xee, 'a write lands at the offset');
  t.equal(await submitBioWait(new Bio(ReqOp.READ, l, 3, buf)), 'EIO', 'the limit is the end of the device');
  let errno: unknown;
  try { kernel.loopAttach(1, files[0]!, { blockSize: 1000 }); } catch (e) { errno = (e as { errno?: unknown }).errno; }
  t.equal(errno, 'EINVAL', 'a block size that is not a power of two from 512 to 4096');
});
