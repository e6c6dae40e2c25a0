// The dm_mirror module: the mirror target and dm-log's core and disk dirty log
// types; dm-log-userspace is a module of its own, loaded at boot on the
// oracle's machine and otherwise on first use.

import type { KernelModule } from '../../kernel/kernel.js';
import { registerLogModule } from './dirty-log.js';
import { coreLogType } from './log-core.js';
import { diskLogType } from './log-disk.js';
import { initUserspaceLog } from './log-userspace.js';
import { mirrorTarget } from './raid1.js';

registerLogModule('dm-log-userspace', initUserspaceLog);

export const dmMirrorModule: KernelModule = {
  name: 'dm_mirror',
  init(kernel) {
    // dm-log registers core then disk; dm-mirror registers the target.
    kernel.dirtyLogTypes.register(coreLogType);
    kernel.dirtyLogTypes.register(diskLogType);
    kernel.targetTypes.register(mirrorTarget);
  },
};

/** dm-log-userspace (the "userspace" dirty log type). */
export const dmLogUserspaceModule: KernelModule = { name: 'dm_log_userspace', init: initUserspaceLog };

export { mirrorTarget };
