// The cluster log types by the names of their era, as the out-of-tree
// dm-cmirror module registered them (clustered_core/clustered_disk, 2006) and
// as lvm2 named them from 2008 (clustered-core/clustered-disk): the same log
// server behind them as behind `userspace`. Present only on a node whose
// cluster log service runs, like a loaded module.

import type { KernelModule } from '../kernel/kernel.js';
import { LogCtrError, type DirtyLog, type DirtyLogType } from '../targets/mirror/dirty-log.js';
import { ulogTransport, UserspaceLog } from '../targets/mirror/log-userspace.js';

/** The legacy argument order: [<log_dev>] <region_size> <uuid> [sync|nosync] block_on_error. */
function legacyType(name: string, disk: boolean): DirtyLogType {
  const type: DirtyLogType = {
    name,
    ctr(ti, argv): DirtyLog {
      const log = ti.kernel.klog.prefixed('dm-cmirror');
      const min = disk ? 4 : 3;
      if (argv.length < min || argv.length > min + 1) {
        log.err(`Too ${argv.length < min ? 'few' : 'many'} arguments to ${name} mirror log type.`);
        throw new LogCtrError();
      }
      if (argv[argv.length - 1] !== 'block_on_error') {
        log.warn('Required "block_on_error" argument not supplied.');
        throw new LogCtrError();
      }
      const transport = ulogTransport(ti.kernel);
      if (!transport) {
        log.err('Userspace log server not found');
        throw new LogCtrError(-3);
      }
      let rest = argv.slice();
      let dev = '';
      if (disk) {
        try {
          dev = ti.getDevice(rest[0]!).name;
        } catch {
          throw new LogCtrError();
        }
        rest = rest.slice(1);
      }
      const [regionSize, uuid, ...tail] = rest;
      const server = [String(ti.len), disk ? 'clustered-disk' : 'clustered-core', ...(disk ? [dev] : []), regionSize!, ...tail];
      const ul = new LegacyClusterLog(type, ti, uuid!, false, argv.length, server.join(' '), transport, argv);
      ul.construct();
      return ul;
    },
  };
  return type;
}

/** Status as the in-kernel cluster log printed it: its own type name and its table arguments. */
class LegacyClusterLog extends UserspaceLog {
  constructor(type: DirtyLogType, ti: ConstructorParameters<typeof UserspaceLog>[1], uuid: string, integratedFlush: boolean,
    usrArgc: number, usrArgvStr: string, transport: ConstructorParameters<typeof UserspaceLog>[6], private readonly argv: string[]) {
    super(type, ti, uuid, integratedFlush, usrArgc, usrArgvStr, transport);
  }

  override status(type: 'info' | 'table' | 'ima'): string | Promise<string> {
    if (type === 'info') {
      const rename = (s: string) => s.replace(/^(\d+) clustered-(core|disk)/, `$1 ${this.type.name}`);
      const s = super.status('info');
      return typeof s === 'string' ? rename(s) : s.then(rename);
    }
    if (type === 'table') {
      const args = this.argv.map((a, i) => (i === 0 && this.logDev ? this.logDev.name : a));
      return `${this.type.name} ${args.length} ${args.join(' ')} `;
    }
    return '';
  }
}

export const clusteredTypes: readonly DirtyLogType[] = [
  legacyType('clustered_core', false),
  legacyType('clustered_disk', true),
  legacyType('clustered-core', false),
  legacyType('clustered-disk', true),
];

export const dmCmirrorModule: KernelModule = {
  name: 'dm_cmirror',
  init(kernel) {
    for (const t of clusteredTypes) kernel.dirtyLogTypes.register(t);
  },
};
