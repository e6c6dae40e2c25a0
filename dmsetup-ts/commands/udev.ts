// The udev cookie commands: the emulation has no udev, so these behave as
// dmsetup does on a system where udev is not running.

import type { CommandFn } from '../command.js';
import { cookieValue, has } from '../switches.js';

const FLAG_NAMES = ['DISABLE_DM_RULES', 'DISABLE_SUBSYSTEM_RULES', 'DISABLE_DISK_RULES', 'DISABLE_OTHER_RULES', 'LOW_PRIORITY', 'DISABLE_LIBRARY_FALLBACK', 'PRIMARY_SOURCE'];

function cookie(s: string | undefined): number {
  return s ? cookieValue(s) : 0;
}

export const run: CommandFn = async (ctx, argv) => {
  switch (ctx.cmd.name) {
    case 'udevcreatecookie':
      return true;
    case 'udevreleasecookie':
      if (!argv.length && !process.env.DM_UDEV_COOKIE) {
        ctx.out.err('No udev transaction cookie given.');
        return false;
      }
      return true;
    case 'udevflags': {
      const c = cookie(argv[0]);
      if (!c) {
        ctx.out.err('Incorrect cookie value.');
        return false;
      }
      const flags = c >>> 16;
      let out = '';
      for (let i = 0; i < 8; i++) if (flags & (1 << i)) out += `DM_UDEV_${FLAG_NAMES[i] ?? `FLAG${i}`}${i < 7 ? '_FLAG' : ''}='1'\n`;
      for (let i = 8; i < 16; i++) if (flags & (1 << i)) out += `DM_SUBSYSTEM_UDEV_FLAG${i - 8}='1'\n`;
      ctx.out.print(out);
      return true;
    }
    case 'udevcomplete': {
      const c = cookie(argv[0]);
      if (!c) {
        ctx.out.err('Incorrect cookie value.');
        return false;
      }
      ctx.out.print(`DM_COOKIE_COMPLETED=0x${c.toString(16).padEnd(10)}\n`);
      return true;
    }
    case 'udevcomplete_all':
      if (!has(ctx.sw, 'yes')) {
        ctx.out.err('WARNING: This operation will destroy all semaphores with keys that have a prefix 3405 (0xd4d).');
        ctx.out.print('Do you really want to continue? [y/n]: ');
        const answer = (await ctx.stdin()).trim().toLowerCase();
        if (!answer.startsWith('y')) {
          ctx.out.print('Semaphores with keys prefixed by 3405 (0xd4d) NOT destroyed.\n');
          return true;
        }
      }
      ctx.out.print('0 semaphores with keys prefixed by 3405 (0xd4d) destroyed. 0 skipped.\n');
      return true;
    case 'udevcookies':
      ctx.out.print('Cookie       Semid      Value      Last semop time           Last change time\n');
      return true;
  }
  return false;
};
