// Mirror tables with huge region counts are refused or accepted as 6.1 sizes
// their allocations (create_log_context's bitsets, the disk log's buffer,
// dm_region_hash_create's buckets) against the machine's RAM (kernel/mm.ts),
// without the emulation allocating what the kernel could not, and a refused
// load gives every vmalloc'd byte back.

import t from 'tap';
import { bootKernel } from '../../index.js';
import { KernelError } from '../../kernel/errno.js';

const errnoOf = (fn: () => unknown): string | null => {
  try { fn(); return null; } catch (e) { return e instanceof KernelError ? e.errno : String(e); }
};

t.test('bitsets over RAM are refused at once; one that fits is accepted', async (t) => {
  const k = bootKernel({ virtualClock: true });
  t.teardown(() => k.shutdown());
  k.dmIoctl.devCreate('h');
  const load = (len: string, log: string) => errnoOf(() => k.dmIoctl.tableLoad({ name: 'h' },
    [{ start: 0, length: BigInt(len), type: 'mirror', params: `${log} 2 /dev/loop3 0 /dev/loop4 0` }]));
  const last = () => k.klog.read(false).map((l) => l.text).filter((l) => l.includes('dirty region log') || l.includes('region hash'));
  const rss0 = process.memoryUsage().arrayBuffers;
  // 2^32-1 regions: each bitset is 512 MiB, more than the machine's RAM.
  t.equal(load('8589934590', 'core 2 2 nosync'), 'EINVAL');
  t.same(last().slice(-1), ["device-mapper: dirty region log: couldn't allocate clean bitset"]);
  // 2^31 regions: 256 MiB fits once, not twice.
  t.equal(load('4294967296', 'core 2 2 nosync'), 'EINVAL');
  t.same(last().slice(-1), ["device-mapper: dirty region log: couldn't allocate sync bitset"]);
  t.ok(process.memoryUsage().arrayBuffers - rss0 < 64 << 20, 'no bitset was allocated for the refused tables');
  // The refused loads gave their pages back: a 2^27-region mirror (3 x 16 MiB and its buckets) loads.
  t.equal(load('268435456', 'core 2 2 nosync'), null);
  t.equal(k.dmIoctl.devStatus({ name: 'h' }).inactivePresent, true);
});
