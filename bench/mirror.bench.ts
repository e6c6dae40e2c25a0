// The mirror target's costs: building and reporting a 1 TiB mirror with
// 512 KiB regions (2,097,152 regions); 1 MiB writes through a two-leg mirror
// against writing the same bytes to both leg files; resync of a 1 GiB mirror
// against copying the leg file.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bootKernel } from '../targets/modules.js';
import { Bio, ReqOp, submitBioWait } from '../kernel/bio.js';
import type { Kernel } from '../kernel/kernel.js';
import type { BenchResult } from './run.js';
import * as net from 'node:net';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { serve, listenExclusive } from '../kernel/server.js';
import { SOCKET_NAME } from '../kernel/runtime-dir.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dmsetup-ts/main.js');

/** `dmsetup-ts io write NAME 0 --bs 1048576 < file` against a kernel served from this process; ms. */
async function ioWriteThroughKernelProcess(k: Kernel, dir: string, name: string, file: string): Promise<number> {
  const kdir = path.join(dir, 'kernel');
  fs.mkdirSync(kdir, { mode: 0o700 });
  const server = net.createServer();
  serve(k, server, () => undefined);
  await listenExclusive(server, path.join(kdir, SOCKET_NAME));
  try {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [MAIN, 'io', 'write', name, '0', '--bs', String(2 ** 20)],
        { env: { ...process.env, DMSETUP_TS_DIR: kdir }, stdio: [fs.openSync(file, 'r'), 'ignore', 'inherit'] });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`io write exited ${code}`))));
    });
    return performance.now() - t0;
  } finally {
    server.close();
    fs.rmSync(kdir, { recursive: true, force: true });
  }
}

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

function inSync(k: Kernel, name: string): boolean {
  const p = k.dmIoctl.tableStatus({ name }, 'info').targets[0]!.params;
  const m = / (\d+)\/(\d+) 1 /.exec(p);
  return !!m && m[1] === m[2];
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
    // 1 MiB writes through a two-leg mirror, in process and from a shell through
    // the kernel process, vs writing the same bytes to both leg files; three
    // alternating rounds each, medians compared.
    {
      const MiB = 2 ** 20, total = 128 * MiB;
      const buf = Buffer.alloc(MiB, 0x5a);
      const src = sparse(dir, 'src', total);
      fs.writeFileSync(src, Buffer.alloc(total, 0x5b));
      const direct: number[] = [], inProcess: number[] = [], viaProcess: number[] = [];
      for (let round = 0; round < 3; round++) {
        {
          const d0 = sparse(dir, 'x0', total), d1 = sparse(dir, 'x1', total);
          const fd0 = fs.openSync(d0, 'r+'), fd1 = fs.openSync(d1, 'r+');
          const t0 = performance.now();
          for (let off = 0; off < total; off += MiB) { fs.writeSync(fd0, buf, 0, MiB, off); fs.writeSync(fd1, buf, 0, MiB, off); }
          direct.push(performance.now() - t0);
          fs.closeSync(fd0); fs.closeSync(fd1);
          fs.rmSync(d0); fs.rmSync(d1);
        }
        const k = bootKernel();
        const f0 = sparse(dir, 'w0', total), f1 = sparse(dir, 'w1', total);
        k.loopAttach(2, f0); k.loopAttach(3, f1);
        await create(k, 'w', total / 512, 'core 2 1024 nosync 2 /dev/loop2 0 /dev/loop3 0');
        const md = k.dmIoctl.deviceByName('w')!;
        const t0 = performance.now();
        for (let off = 0; off < total; off += MiB) await submitBioWait(new Bio(ReqOp.WRITE, md, off / 512, buf));
        inProcess.push(performance.now() - t0);
        viaProcess.push(await ioWriteThroughKernelProcess(k, dir, 'w', src));
        await k.shutdown();
        fs.rmSync(f0); fs.rmSync(f1);
      }
      fs.rmSync(src);
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const d = median(direct), m = median(inProcess), p = median(viaProcess);
      out.push({ name: 'write both leg files directly (reference)', value: total / MiB / (d / 1000), unit: 'MiB/s', goal: '-' });
      out.push({ name: 'mirror 1 MiB writes, 2 legs, in process', value: total / MiB / (m / 1000), unit: 'MiB/s', goal: '≥ 0.8× the reference', ratio: d / m, met: d / m >= 0.8 });
      out.push({ name: 'mirror 1 MiB writes, 2 legs, through the kernel process', value: total / MiB / (p / 1000), unit: 'MiB/s', goal: '≥ 0.5× the reference', ratio: d / p, met: d / p >= 0.5 });
    }
    // Resync of 1 GiB vs copying the leg file.
    {
      const k = bootKernel();
      const GiB = 2 ** 30;
      const f0 = sparse(dir, 'r0', GiB), f1 = sparse(dir, 'r1', GiB);
      // Real data on leg 0 so the copy is not of holes only.
      const fd = fs.openSync(f0, 'r+');
      const chunk = Buffer.alloc(2 ** 20, 0x33);
      for (let off = 0; off < GiB; off += chunk.length) fs.writeSync(fd, chunk, 0, chunk.length, off);
      fs.closeSync(fd);
      k.loopAttach(4, f0); k.loopAttach(5, f1);
      // The reference, before and after (the mean): the page cache is as warm for it as for the resync.
      let t0 = performance.now();
      fs.copyFileSync(f0, path.join(dir, 'r2'));
      const copyBefore = performance.now() - t0;
      fs.rmSync(path.join(dir, 'r2'));
      t0 = performance.now();
      await create(k, 'r', GiB / 512, 'core 1 1024 2 /dev/loop4 0 /dev/loop5 0');
      while (!inSync(k, 'r')) await new Promise((res) => setImmediate(res));
      const resyncMs = performance.now() - t0;
      await k.shutdown();
      t0 = performance.now();
      fs.copyFileSync(f0, path.join(dir, 'r2'));
      const copyMs = (copyBefore + performance.now() - t0) / 2;
      out.push({ name: 'mirror resync 1 GiB (512 KiB regions)', value: +resyncMs.toFixed(0), unit: 'ms', goal: '≥ 0.8× copying the leg file', ratio: +(copyMs / resyncMs).toFixed(2), met: copyMs / resyncMs >= 0.8 });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
