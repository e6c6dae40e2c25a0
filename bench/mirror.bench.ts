// The mirror target's costs: building and reporting a 1 TiB mirror with
// 512 KiB regions (2,097,152 regions). Its data path (writes, NBD, resync)
// is measured against dd and cat in datapath.bench.ts.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bootKernel } from '../targets/modules.js';
import type { Kernel } from '../kernel/kernel.js';
import type { BenchResult } from './run.js';

function sparse(dir: string, name: string, bytes: number): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, Buffer.alloc(0));
  fs.truncateSync(f, bytes);
  return f;
}

async function create(k: Kernel, name: string, len: number, params: string): Promise<void> {
  k.dmIoctl.devCreate(name);
  k.dmIoctl.tableLoad({ name }, [{ start: 0, length: len, type: 'mirror', params }]);
  await k.dmIoctl.devResume({ name });
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirror-bench-'));
  try {
    // 1 TiB, 512 KiB regions.
    {
      const k = bootKernel();
      const TiB = 2 ** 40;
      k.loopAttach(0, sparse(dir, 'big0', TiB));
      k.loopAttach(1, sparse(dir, 'big1', TiB));
      (globalThis as { gc?: () => void }).gc?.();
      const mem0 = process.memoryUsage();
      const t0 = performance.now();
      await create(k, 'big', TiB / 512, 'core 2 1024 nosync 2 /dev/loop0 0 /dev/loop1 0');
      const status = k.dmIoctl.tableStatus({ name: 'big' }, 'info').targets[0]!.params;
      const ms = performance.now() - t0;
      const mem1 = process.memoryUsage();
      const extra = (mem1.heapUsed + mem1.arrayBuffers - mem0.heapUsed - mem0.arrayBuffers) / 2 ** 20;
      if (!status.includes('2097152/2097152')) throw new Error(`unexpected status ${status}`);
      out.push({ name: 'mirror 1 TiB / 512 KiB regions: create + status', value: +ms.toFixed(1), unit: 'ms', goal: '< 1000 ms', met: ms < 1000 });
      out.push({ name: 'mirror 1 TiB / 512 KiB regions: extra memory', value: +extra.toFixed(1), unit: 'MiB', goal: '< 32 MiB', met: extra < 32 });
      await k.shutdown();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
