// The udev cookie commands: the emulation has no udev, so these behave as
// dmsetup does on a system where udev is not running.

import type { CommandFn } from '../command.js';
import { cookieValue, has } from '../switches.js';

const FLAG_NAMES = ['DISABLE_DM_RULES', 'DISABLE_SUBSYSTEM_RULES', 'DISABLE_DISK_RULES', 'DISABLE_OTHER_RULES', 'LOW_PRIORITY', 'DISABLE_LIBRARY_FALLBACK', 'PRIMARY_SOURCE'];

function cookie(s: string | undefined): number {
  return s ? cookieValue(s) : 0;
}

/** _yes_no_prompt: the prompt again after each line without y or n; EOF is no; a newline if the answer did not end one. */
async function yesNoPrompt(ctx: Parameters<CommandFn>[0], prompt: string): Promise<'y' | 'n'> {
  const input = await ctx.stdin();
  let pos = 0, c = '', ret: '' | 'y' | 'n' = '';
  do {
    if (c === '\n' || c === '') ctx.out.print(prompt);
    if (pos >= input.length) { ret = 'n'; c = 'EOF'; break; }
    c = input[pos++]!.toLowerCase();
    if (c === 'y' || c === 'n') ret = c;
  } while (!ret || c !== '\n');
  if (c !== '\n') ctx.out.print('\n');
  return ret;
}

export const run: CommandFn = async (ctx, argv) => {
  switch (ctx.cmd.name) {
    case 'udevcreatecookie':
      return true;
    case 'udevreleasecookie':
      if (argv[0] !== undefined && !cookie(argv[0])) {
        ctx.out.err('Incorrect cookie value.');
        return false;
      }
      if (!argv.length && !ctx.sw.udevCookie) {
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
      // sscanf("%u"): optional white space and sign, then digits.
      if (argv.length === 1 && !/^[ \t\n\v\f\r]*[+-]?[0-9]/.test(argv[0]!)) {
        ctx.out.err('Failed to read age_in_minutes parameter.');
        return false;
      }
      if (!has(ctx.sw, 'yes')) {
        // sscanf %u: a negative age wraps around.
        const age = argv.length === 1 ? Number(BigInt.asUintN(32, BigInt(/[+-]?[0-9]+/.exec(argv[0]!)![0]))) : 0;
        ctx.out.err(`WARNING: This operation will destroy all semaphores ${age ? `older than ${age} minutes ` : ''}with keys that have a prefix 3405 (0xd4d).`);
        if ((await yesNoPrompt(ctx, 'Do you really want to continue? [y/n]: ')) === 'n') {
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
