// A table that names its own device (6.1 loads it): I/O through the cycle
// ends with EIO once the bio is MAX_DM_DEPTH devices deep, instead of
// overflowing the stack or looping without end, and the device can be removed.

import t from 'tap';
import { Bio, ReqOp, REQ_PREFLUSH, submitBioWait } from '../../kernel/bio.js';
import { kernelWithDisks, createDevice } from '../helpers/kernel.js';

t.test('striped over itself: a flush fans out and fails, a read fails', async (t) => {
  const { kernel } = kernelWithDisks(t, 2, 16384);
  await createDevice(kernel, 's', [{ start: 0, length: 1024, type: 'zero', params: '' }]);
  kernel.dmIoctl.tableLoad({ name: 's' }, [{ start: 0, length: 1024, type: 'striped', params: '2 256 /dev/mapper/s 0 /dev/loop0 0' }]);
  await kernel.dmIoctl.devResume({ name: 's' });
  const md = kernel.dmIoctl.deviceByName('s')!;
  t.equal(await submitBioWait(new Bio(ReqOp.FLUSH, md, 0, Buffer.alloc(0), null, REQ_PREFLUSH)), 'EIO', 'flush: EIO');
  t.equal(await submitBioWait(new Bio(ReqOp.READ, md, 0, Buffer.alloc(4096))), 'EIO', 'a read into the stripe on itself: EIO');
  t.equal(await submitBioWait(new Bio(ReqOp.READ, md, 256, Buffer.alloc(4096))), 0, 'a read of the other stripe works');
  kernel.dmIoctl.tableLoad({ name: 's' }, [{ start: 0, length: 1024, type: 'error', params: '' }]);
  await kernel.dmIoctl.devResume({ name: 's' });
  await kernel.dmIoctl.devRemove({ name: 's' });
  t.equal(kernel.loop(0)!.openCount, 0);
});

t.test('a mirror with a leg on itself: writes and recovery end, remove works', async (t) => {
  const { kernel } = kernelWithDisks(t, 2, 16384);
  await createDevice(kernel, 'm', [{ start: 0, length: 2048, type: 'zero', params: '' }]);
  kernel.dmIoctl.tableLoad({ name: 'm' }, [{ start: 0, length: 2048, type: 'mirror', params: 'core 1 1024 2 /dev/mapper/m 0 /dev/loop0 0' }]);
  await kernel.dmIoctl.devResume({ name: 'm' });
  const md = kernel.dmIoctl.deviceByName('m')!;
  const st = await submitBioWait(new Bio(ReqOp.WRITE, md, 0, Buffer.alloc(4096, 1)));
  t.ok(st === 0 || st === 'EIO', `a write completes (${st})`);
  await kernel.clock.settle();
  const busy = await kernel.dmIoctl.devRemove({ name: 'm' }).then(() => 'removed', (e: { errno?: string }) => e.errno);
  t.equal(busy, 'EBUSY', 'it holds itself open (as on 6.1)');
  kernel.dmIoctl.tableLoad({ name: 'm' }, [{ start: 0, length: 2048, type: 'error', params: '' }]);
  await kernel.dmIoctl.devResume({ name: 'm' });
  await kernel.dmIoctl.devRemove({ name: 'm' });
  t.notOk(kernel.dmIoctl.deviceByName('m'), 'removed');
});
