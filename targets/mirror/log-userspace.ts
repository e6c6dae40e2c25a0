// dm-log-userspace (v1.3.0, kernel side): a dirty log kept by a server in
// userspace. The kernel parses only the uuid and integrated_flush; the rest
// goes to the server in the CTR request. Without a server the constructor
// fails as the kernel's does ("Userspace log server not found").

import type { Kernel } from '../../kernel/kernel.js';
import { LogCtrError, type DirtyLog, type DirtyLogType } from './dirty-log.js';

const DM_UUID_LEN = 129;
/** include/uapi/linux/dm-log-userspace.h request types. */
export enum DmUlog {
  CTR = 1, DTR, PRESUSPEND, POSTSUSPEND, RESUME, GET_REGION_SIZE, IS_CLEAN, IN_SYNC, FLUSH,
  MARK_REGION, CLEAR_REGION, GET_RESYNC_WORK, SET_REGION_SYNC, GET_SYNC_COUNT, STATUS_INFO,
  STATUS_TABLE, IS_REMOTE_RECOVERING,
}

/**
 * The netlink connector to the log server (dm_consult_userspace). A cluster
 * module installs one on the kernel; until then every request fails with ESRCH.
 */
export interface UlogTransport {
  request(uuid: string, luid: number, type: DmUlog, data: Buffer): Promise<{ error: number; data: Buffer }>;
}

const transports = new WeakMap<Kernel, UlogTransport>();
export function setUlogTransport(kernel: Kernel, t: UlogTransport | null): void {
  if (t) transports.set(kernel, t); else transports.delete(kernel);
}

let nextLuid = 1;

export const userspaceLogType: DirtyLogType = {
  name: 'userspace',
  ctr(ti, argv): DirtyLog {
    const log = ti.kernel.klog.prefixed('dm-log-userspace');
    if (argv.length < 3) {
      log.warn('Too few arguments to userspace dirty log');
      throw new LogCtrError();
    }
    if (argv[0]!.length >= DM_UUID_LEN) {
      log.warn('UUID argument too long.');
      throw new LogCtrError();
    }
    // The CTR request is synchronous in the kernel; the transport is not here,
    // so a log server must be attached before a table names this log type.
    const transport = transports.get(ti.kernel);
    if (!transport) {
      log.err('Userspace log server not found');
      throw new LogCtrError(-3);
    }
    // A server-backed log is supplied by the cluster module (later issue).
    void nextLuid;
    log.err('Userspace log server failed to create log');
    throw new LogCtrError();
  },
};

/** dm_userspace_log_init: the module announces itself when it is loaded. */
export function initUserspaceLog(kernel: Kernel): void {
  kernel.dirtyLogTypes.register(userspaceLogType);
  kernel.klog.prefixed('dm-log-userspace').info('version 1.3.0 loaded');
}
