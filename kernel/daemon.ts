// The kernel process: boots an emulated kernel and serves it on the runtime
// directory's socket until told to stop ("reboot"), or until the socket is
// taken away from it.

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { bootKernel } from '../targets/modules.js';
import { parsePatches, PATCHES_ENV } from '../targets/mirror/patches.js';
import { ensureRuntimeDir, LAST_NAME, PID_NAME, recordedPid, runtimeDir, SOCKET_NAME } from './runtime-dir.js';
import { keepRunning, listenExclusive, privateSocketGuard, serve } from './server.js';
import { NBD_SOCKET_NAME, nbdServer } from './nbd.js';

async function main(): Promise<void> {
  // Every socket and file this process makes is its owner's only, whatever the caller's umask.
  process.umask(0o077);
  const dir = runtimeDir();
  ensureRuntimeDir(dir);
  const sockPath = path.join(dir, SOCKET_NAME);
  const kernel = bootKernel({ virtualClock: process.env.DMSETUP_TS_CLOCK === 'virtual', patches: parsePatches(process.env[PATCHES_ENV] ?? '') });
  keepRunning(kernel);
  const server = net.createServer();
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(watch);
    server.close();
    await nbd.close().catch(() => undefined);
    try { if (fs.statSync(sockPath).ino === myIno) fs.unlinkSync(sockPath); } catch { /* gone */ }
    // A clean stop: the next kernel of this directory boots without a notice.
    if (recordedPid(dir) === process.pid) {
      try { fs.writeFileSync(path.join(dir, LAST_NAME), `${process.pid}\n`); fs.unlinkSync(path.join(dir, PID_NAME)); } catch { /* directory gone */ }
    }
    await Promise.race([kernel.shutdown(), new Promise((r) => setTimeout(r, 5000))]);
    process.exit(0);
  };
  serve(kernel, server, () => void stop(), privateSocketGuard([dir], sockPath));
  if (!(await listenExclusive(server, sockPath))) process.exit(0); // another kernel won the race
  const myIno = fs.statSync(sockPath).ino;
  // The block devices' NBD export, beside the control socket.
  const nbd = nbdServer(kernel);
  nbd.guard = privateSocketGuard([dir], path.join(dir, NBD_SOCKET_NAME));
  await nbd.listenUnix(path.join(dir, NBD_SOCKET_NAME)).catch((e: Error) =>
    process.stderr.write(`dmsetup-ts kernel: nbd: cannot listen on ${path.join(dir, NBD_SOCKET_NAME)}: ${e.message}\n`));
  bootLine(kernel, dir);
  // Our socket replaced or our directory removed: nobody can reach us any more.
  const watch = setInterval(() => {
    try {
      if (fs.statSync(sockPath).ino !== myIno) void stop();
    } catch {
      void stop();
    }
  }, 1000);
  watch.unref();
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

/**
 * The first kernel of a runtime directory boots with an empty log (as the
 * oracle's init clears it); a later one says so in its log, and whether the one
 * before it stopped cleanly (kernel.pid left behind: it was killed or crashed).
 */
function bootLine(kernel: ReturnType<typeof bootKernel>, dir: string): void {
  const crashed = recordedPid(dir);
  const stopped = recordedPid(dir, LAST_NAME);
  fs.writeFileSync(path.join(dir, PID_NAME), `${process.pid}\n`, { mode: 0o600 });
  if (crashed !== undefined && crashed !== process.pid) {
    kernel.klog.printk('warn', `dmsetup-ts: kernel booted (pid ${process.pid}) in ${dir}; the previous kernel (pid ${crashed}) did not stop cleanly: its devices, loop devices and core logs are gone`);
  } else if (stopped !== undefined) {
    kernel.klog.printk('info', `dmsetup-ts: kernel booted (pid ${process.pid}) in ${dir}; the previous kernel (pid ${stopped}) stopped cleanly`);
  }
}

main().catch((e) => {
  process.stderr.write(`dmsetup-ts kernel: ${(e as Error).message}\n`);
  process.exit(1);
});
