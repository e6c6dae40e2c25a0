// In-process mirror fixtures: sparse leg files on loop devices, I/O through the
// mapped device, status text as dmsetup prints it (without the start/len/type).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bootKernel } from '../../targets/modules.js';
import { Bio, ReqOp, submitBioWait, type BlkStatus } from '../../kernel/bio.js';
import type { Kernel } from '../../kernel/kernel.js';

export interface Rig {
  k: Kernel;
  dir: string;
  file(n: number): string;
  disk(n: number, mib: number): string;
  create(name: string, table: string, len: number): Promise<void>;
  status(name: string): string;
  table(name: string): string;
  write(name: string, sector: number, count: number, byte: number): Promise<BlkStatus>;
  read(name: string, sector: number, count: number): Promise<{ status: BlkStatus; data: Buffer }>;
  waitSync(name: string, ms?: number): Promise<boolean>;
  klog(): string[];
  done(): Promise<void>;
}

export function rig(): Rig {
  const k = bootKernel();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirror-test-'));
  const file = (n: number) => path.join(dir, `d${n}`);
  const io = k.dmIoctl;
  const line = (name: string, type: 'info' | 'table') =>
    io.tableStatus({ name }, type).targets.map((t) => `${t.start} ${t.length} ${t.type} ${t.params}`).join('\n');
  const r: Rig = {
    k, dir, file,
    disk(n, mib) {
      fs.writeFileSync(file(n), Buffer.alloc(0));
      fs.truncateSync(file(n), mib * 1024 * 1024);
      k.loopAttach(n, file(n));
      return file(n);
    },
    async create(name, table, len) {
      io.devCreate(name);
      const [type, ...rest] = table.split(' ');
      try {
        io.tableLoad({ name }, [{ start: 0, length: len, type: type!, params: rest.join(' ') }]);
      } catch (e) {
        await io.devRemove({ name });
        throw e;
      }
      await io.devResume({ name });
    },
    status: (name) => line(name, 'info'),
    table: (name) => line(name, 'table'),
    write(name, sector, count, byte) {
      return submitBioWait(new Bio(ReqOp.WRITE, io.deviceByName(name)!, sector, Buffer.alloc(count * 512, byte)));
    },
    async read(name, sector, count) {
      const data = Buffer.alloc(count * 512);
      const status = await submitBioWait(new Bio(ReqOp.READ, io.deviceByName(name)!, sector, data));
      return { status, data };
    },
    async waitSync(name, ms = 20000) {
      const t0 = Date.now();
      while (Date.now() - t0 < ms) {
        const m = / (\d+)\/(\d+) 1 /.exec(r.status(name));
        if (m && m[1] === m[2]) return true;
        await new Promise((res) => setTimeout(res, 2));
      }
      return false;
    },
    klog: () => k.klog.read(true).map((l) => l.text).filter((t) => t.startsWith('device-mapper:')),
    async done() {
      await k.shutdown();
      for (const l of k.loopDevices()) if (l.attached && !l.openCount) l.detach();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return r;
}

/** The seeded PRNG the cluster exploration uses (mulberry32). */
export { prng } from '../../cluster/cpg.js';
