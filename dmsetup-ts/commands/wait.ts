// dmsetup wait: block until the device's event counter moves past EVENT_NR.
import type { CommandFn } from '../command.js';
import { atoi } from '../getopt.js';
import { has } from '../switches.js';
import { simple } from './simple.js';

export const run: CommandFn = (ctx, argv) => {
  let name: string | undefined;
  let args = argv;
  if (!has(ctx.sw, 'uuid') && !has(ctx.sw, 'major')) {
    if (!args.length) {
      ctx.out.err('No device specified.');
      return Promise.resolve(false);
    }
    name = args[0];
    args = args.slice(1);
  }
  return simple(ctx, 'waitevent', name, args.length ? atoi(args[args.length - 1]!) >>> 0 : 0, true);
};
