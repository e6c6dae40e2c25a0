// dmsetup resume: swap in the inactive table if any, then resume.
import type { CommandFn } from '../command.js';
import { simple } from './simple.js';

export const run: CommandFn = (ctx, argv) => simple(ctx, 'resume', argv[0], 0, true);
