// A mirror whose second leg is flakey (up 5 s, down 5 s), driven through
// up/down/up/down on the virtual clock: at each step the status line and both
// legs' contents must be what the oracle printed for scenario 108. The I/O is
// the helpers' (dm_write/dm_read: buffered, as the oracle's dd does it).

import t from 'tap';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bootKernel } from '../targets/modules.js';
import { bufferedRead, bufferedWrite } from '../kernel/blkdev-pagecache.js';
import type { VirtualClock } from '../kernel/clock.js';
import type { Kernel } from '../kernel/kernel.js';
import type { MappedDevice } from '../kernel/dm.js';

const md5 = (b: Buffer) => crypto.createHash('md5').update(b).digest('hex');
const golden = fs.readFileSync(new URL('../../fixtures/conformance/expected/108-mirror-flakey-leg.out', import.meta.url), 'utf8');

t.test('mirror over a flakey leg through several up/down cycles (scenario 108)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirror-flakey-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const kernel: Kernel = bootKernel({ virtualClock: true });
  const clock = kernel.clock as VirtualClock;
  const legs = [0, 1].map((i) => {
    const f = path.join(dir, `d${i}`);
    fs.writeFileSync(f, '');
    fs.truncateSync(f, 8 << 20);
    kernel.loopAttach(i, f);
    return f;
  });

  let out = '';
  const create = async (name: string, line: string): Promise<MappedDevice> => {
    kernel.dmIoctl.devCreate(name);
    const [start, length, type, ...rest] = line.split(' ');
    kernel.dmIoctl.tableLoad({ name }, [{ start: Number(start), length: Number(length), type: type!, params: rest.join(' ') }]);
    await kernel.dmIoctl.devResume({ name });
    return kernel.dmIoctl.deviceByName(name)!;
  };
  const statusLine = () => kernel.dmIoctl.tableStatus({ name: 'm' }, 'info').targets
    .map((s) => `${s.start} ${s.length} ${s.type} ${s.params}`).join('\n');
  const status = () => { out += statusLine() + '\n'; };
  const dmWrite = async (sector: number, count: number, byte: number) => {
    const r = await bufferedWrite(kernel.klog, m, sector, Buffer.alloc(count * 512, byte), 512);
    if (r.error) out += 'dm_write: I/O error\n';
  };
  const dmRead = async (sector: number, count: number) => {
    const r = await bufferedRead(kernel.klog, m, sector, count, 512);
    out += r.error ? 'dm_read: I/O error\n' : md5(r.data) + '\n';
  };
  const legRead = (i: number, sector: number, count: number) => {
    const b = Buffer.alloc(count * 512);
    const fd = fs.openSync(legs[i]!, 'r');
    try { fs.readSync(fd, b, 0, b.length, sector * 512); } finally { fs.closeSync(fd); }
    out += md5(b) + '\n';
  };
  /** The scenario's `at T`: wait until T seconds after the flakey table load. */
  let t0 = 0;
  const at = (secs: number) => {
    const target = t0 + secs * 1000;
    t.ok(clock.nowMs() <= target, `the previous step ended before ${secs} s`);
    clock.advance(Math.max(0, target - clock.nowMs()));
  };
  /** dm_wait_sync: poll every 0.1 s, at most 120 s. */
  const waitSync = async () => {
    for (let i = 0; i < 1200; i++) {
      const m = /mirror \d+ .* (\d+)\/(\d+) /.exec(statusLine());
      if (m && m[1] === m[2]) return;
      await new Promise((resolve) => setImmediate(resolve));
      clock.advance(100);
    }
    out += 'dm_wait_sync: timeout\n';
  };
  const section = (name: string) => { out += `== ${name}\n`; };
  const step = (name: string) => {
    // Each step of the scenario must match the oracle on its own, so a
    // failure says where the emulation went wrong.
    const end = golden.indexOf('== ', golden.indexOf(`== ${name}\n`) + 3);
    return golden.slice(0, end < 0 ? undefined : end);
  };

  await create('fl', '0 16384 flakey /dev/loop1 0 5 5');
  t0 = clock.nowMs();
  const m = await create('m', '0 16384 mirror core 2 1024 nosync 2 /dev/loop0 0 /dev/mapper/fl 0');

  at(1);
  section('up');
  await dmWrite(0, 8, 1);
  status();
  legRead(0, 0, 8); legRead(1, 0, 8);
  t.equal(out, step('up'), 'up: the write reaches both legs, all in sync');

  at(6);
  section('down');
  await dmWrite(8, 8, 2);
  await dmRead(8, 8);
  status();
  legRead(0, 8, 8); legRead(1, 8, 8);
  await dmWrite(2048, 8, 3);
  status();
  t.equal(out, step('down'), 'down: the flakey leg fails its writes; regions fall out of sync, health AD');

  at(11);
  section('up again');
  await dmWrite(16, 8, 4);
  status();
  legRead(0, 16, 8); legRead(1, 16, 8); legRead(1, 8, 8);
  await kernel.dmIoctl.devSuspend({ name: 'm' });
  await kernel.dmIoctl.devResume({ name: 'm' });
  await waitSync();
  status();
  legRead(1, 8, 8); legRead(1, 2048, 8);
  t.equal(out, step('up again'), 'up again: writes to out-of-sync regions go to the default leg only; a resume resyncs');

  at(16);
  section('down again');
  await dmRead(0, 8);
  status();
  await dmWrite(24, 8, 5);
  status();
  legRead(0, 24, 8); legRead(1, 24, 8);
  out += kernel.klog.read(true).map((l) => l.text).filter((s) => s.startsWith('device-mapper:')).map((s) => s + '\n').join('');
  t.equal(out, golden, 'down again: reads come from the good leg; a write fails the flakey leg again');
});
