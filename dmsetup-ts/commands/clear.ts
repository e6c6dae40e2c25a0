// dmsetup clear: drop the inactive table.
import type { CommandFn } from '../command.js';
import { simple } from './simple.js';

export const run: CommandFn = (ctx, argv) => simple(ctx, 'clear', argv[0], 0, true);
