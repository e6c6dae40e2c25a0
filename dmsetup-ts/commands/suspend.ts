// dmsetup suspend: DM_DEV_SUSPEND with the suspend flag.
import type { CommandFn } from '../command.js';
import { simple } from './simple.js';

export const run: CommandFn = (ctx, argv) => simple(ctx, 'suspend', argv[0], 0, true);
