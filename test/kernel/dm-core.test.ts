// The device-mapper core in process: bios split at target boundaries,
// suspend holding I/O until resume, events, open counts, deps order, minors.

import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bootKernel } from '../../targets/modules.js';
import { Bio, ReqOp, submitBioWait } from '../../kernel/bio.js';
import { KernelError } from '../../kernel/errno.js';

function disk(t: { teardown(fn: () => void): void }, mib: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dm-core-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'd');
  fs.writeFileSync(f, Buffer.alloc(0));
  fs.truncateSync(f, mib << 20);
  return f;
}

t.test('a bio is split at target boundaries and each piece mapped', async (t) => {
  const k = bootKernel();
  const f = disk(t, 8);
  k.loopAttach(0, f);
  const io = k.dmIoctl;
  io.devCreate('multi');
  io.tableLoad({ name: 'multi' }, [
    { start: 0, length: 2048, type: 'linear', params: '/dev/loop0 8192' },
    { start: 2048, length: 1024, type: 'zero', params: '' },
    { start: 3072, length: 1024, type: 'error', params: '' },
  ]);
  await io.devResume({ name: 'multi' });
  const md = io.deviceByName('multi')!;
  // A write across the linear/zero boundary lands only where linear maps it.
  t.equal(await submitBioWait(new Bio(ReqOp.WRITE, md, 2040, Buffer.alloc(16 * 512, 7))), 0);
  const back = fs.readFileSync(f).subarray((8192 + 2040) * 512, (8192 + 2056) * 512);
  t.ok(back.subarray(0, 8 * 512).every((b) => b === 7), 'first 8 sectors on the file');
  t.ok(back.subarray(8 * 512).every((b) => b === 0), 'the rest went to zero, not the file');
  // A read reaching into the error target fails as a whole.
  t.equal(await submitBioWait(new Bio(ReqOp.READ, md, 3000, Buffer.alloc(100 * 512))), 'EIO');
  t.equal(await submitBioWait(new Bio(ReqOp.READ, md, 2048, Buffer.alloc(8 * 512, 1))), 0);
  await k.shutdown();
});

t.test('suspend holds new I/O until resume; events, open counts, deps', async (t) => {
  const k = bootKernel();
  k.loopAttach(0, disk(t, 8));
  k.loopAttach(1, disk(t, 8));
  const io = k.dmIoctl;
  io.devCreate('a');
  io.tableLoad({ name: 'a' }, [{ start: 0, length: 4096, type: 'linear', params: '/dev/loop0 0' }]);
  await io.devResume({ name: 'a' });
  const a = io.deviceByName('a')!;
  await io.devSuspend({ name: 'a' });
  let done = false;
  const w = submitBioWait(new Bio(ReqOp.WRITE, a, 0, Buffer.alloc(512, 1))).then((s) => { done = true; return s; });
  await new Promise((r) => setTimeout(r, 20));
  t.notOk(done, 'held while suspended');
  await io.devResume({ name: 'a' });
  t.equal(await w, 0, 'completed after resume');

  // A table using a device opens it once; deps list the last referenced first.
  io.devCreate('s');
  io.tableLoad({ name: 's' }, [{ start: 0, length: 8192, type: 'striped', params: '2 128 /dev/loop0 4096 /dev/mapper/a 0' }]);
  t.equal(io.devStatus({ name: 'a' }).openCount, 1, 'held open by the inactive table of s');
  t.same(io.tableDeps({ name: 's' }, true).deps.map((d) => `${d.major}:${d.minor}`), ['254:0', '7:0']);
  await t.rejects(io.devRemove({ name: 'a' }), new KernelError('EBUSY'));
  await io.devResume({ name: 's' });
  t.equal(io.devStatus({ name: 'a' }).openCount, 1, 'still once, now by the live table');

  // Rename raises an event when there is a live table.
  t.equal(io.devStatus({ name: 's' }).eventNr, 0);
  io.devRename({ name: 's' }, 's2');
  t.equal(io.devStatus({ name: 's2' }).eventNr, 1);
  await io.devRemove({ name: 's2' });
  t.equal(io.devStatus({ name: 'a' }).openCount, 0, 'released with the table');

  // The lowest free minor is reused.
  io.devCreate('b');
  t.equal(io.devStatus({ name: 'b' }).minor, 1);
  await io.devRemove({ name: 'a' });
  io.devCreate('c');
  t.equal(io.devStatus({ name: 'c' }).minor, 0);
  await k.shutdown();
});

t.test('resume of a suspended device without a table is refused', async (t) => {
  const k = bootKernel();
  const io = k.dmIoctl;
  io.devCreate('n');
  await io.devSuspend({ name: 'n' });
  await t.rejects(io.devResume({ name: 'n' }), new KernelError('EINVAL'));
  await k.shutdown();
});
