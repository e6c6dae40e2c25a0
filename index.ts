// The library API: an emulated kernel in this process, with every module of
// the daemon's, and the pieces to drive it (ioctls, bios, loop devices).
//
//   import { bootKernel, Bio, ReqOp, submitBioWait } from 'dmsetup-ts';
//   const k = bootKernel({ virtualClock: true });
//   k.loopAttach(0, 'd0');
//   k.dmIoctl.devCreate('lin');
//   k.dmIoctl.tableLoad({ name: 'lin' }, [{ start: 0, length: 8192, type: 'linear', params: '/dev/loop0 0' }]);
//   await k.dmIoctl.devResume({ name: 'lin' });

export { bootKernel, MODULES, targetModule } from './targets/modules.js';
export { Kernel, type KernelOptions, type KernelModule } from './kernel/kernel.js';
export { Bio, ReqOp, REQ_FUA, REQ_PREFLUSH, REQ_RAHEAD, REQ_SYNC, bioEndio, submitBio, submitBioWait, type BlkStatus } from './kernel/bio.js';
export { KernelError, strerror, type Errno } from './kernel/errno.js';
export { RealClock, VirtualClock, type Clock } from './kernel/clock.js';
export type { DmInfo, DevRef, TargetSpec, TargetStatus } from './kernel/dm-ioctl.js';
export { DmMapio, DmEndio, CtrError, type Target, type TargetType, type DmTarget, type DmDev } from './kernel/dm-target.js';
export { blkdevRead, blkdevWrite } from './kernel/blkdev-io.js';
export { parseTable } from './tables/parse.js';
export { splitArgs } from './tables/split.js';
export { waitForSync, syncProgress, isInSync, SyncTimeout, type SyncProgress, type WaitForSyncOptions } from './targets/mirror/sync-progress.js';
