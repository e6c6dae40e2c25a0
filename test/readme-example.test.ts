import t from 'tap';
import { truncateSync } from 'node:fs';
import { bootKernel, waitForSync } from 'dmsetup-ts';

t.test('a two-leg core mirror comes in sync', async (t) => {
  const dir = t.testdir({ d0: '', d1: '' });
  const k = bootKernel({ virtualClock: true });
  t.teardown(() => k.shutdown());
  for (const n of [0, 1]) { truncateSync(`${dir}/d${n}`, 16 << 20); k.loopAttach(n, `${dir}/d${n}`); }
  k.dmIoctl.devCreate('m');
  k.dmIoctl.tableLoad({ name: 'm' }, [{ start: 0, length: 32768, type: 'mirror', params: 'core 1 1024 2 /dev/loop0 0 /dev/loop1 0' }]);
  await k.dmIoctl.devResume({ name: 'm' });
  t.same(await waitForSync(k, 'm'), { inSync: 32, regions: 32, health: 'AA' });
});
