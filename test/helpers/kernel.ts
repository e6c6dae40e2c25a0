// An in-process kernel over temporary files, for tests that drive the kernel directly.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bootKernel } from '../../targets/modules.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { VirtualClock } from '../../kernel/clock.js';
import type { Test } from 'tap';

interface Teardown { teardown(fn: () => void): void }

/** A kernel on the virtual clock with `disks` sparse files of `sectors` sectors as /dev/loop0.. */
export function kernelWithDisks(t: Teardown, disks: number, sectors: number): { kernel: Kernel; clock: VirtualClock; files: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmsetup-ts-test-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const kernel = bootKernel({ virtualClock: true });
  const files: string[] = [];
  for (let i = 0; i < disks; i++) {
    const f = path.join(dir, `d${i}`);
    fs.writeFileSync(f, '');
    fs.truncateSync(f, sectors * 512);
    kernel.loopAttach(i, f);
    files.push(f);
  }
  return { kernel, clock: kernel.clock as VirtualClock, files };
}

/** dmsetup create in-process: DM_DEV_CREATE, DM_TABLE_LOAD, DM_DEV_SUSPEND (resume). */
export async function createDevice(kernel: Kernel, name: string, targets: Parameters<Kernel['dmIoctl']['tableLoad']>[1]): Promise<void> {
  kernel.dmIoctl.devCreate(name);
  kernel.dmIoctl.tableLoad({ name }, targets);
  await kernel.dmIoctl.devResume({ name });
}

type Asserts = Pick<Test, 'equal' | 'same'>;

/**
 * Load each `[params, message]` table into device `bad` and check the load is
 * refused with the errno in the message and the kernel's two log lines.
 */
export function expectRefusals(t: Asserts, kernel: Kernel, type: string, cases: Array<[string, string]>): void {
  if (!kernel.dmIoctl.deviceByName('bad')) kernel.dmIoctl.devCreate('bad');
  for (const [params, msg] of cases) {
    kernel.klog.read(true);
    let errno: string | undefined;
    try {
      kernel.dmIoctl.tableLoad({ name: 'bad' }, [{ start: 0, length: 8192, type, params }]);
    } catch (e) {
      errno = (e as { errno?: string }).errno;
    }
    t.equal(errno, /\(-(E\w+)\)$/.exec(msg)![1], `${params}: refused`);
    t.same(kernel.klog.read(true).map((l) => l.text), [
      `device-mapper: table: ${kernel.dmIoctl.deviceByName('bad')!.kernelName}: ${type}: ${msg}`,
      'device-mapper: ioctl: error adding target to table',
    ], params);
  }
}
