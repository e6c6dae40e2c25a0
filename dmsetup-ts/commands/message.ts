// dmsetup message: send a message to the target at a sector; print its reply.

import { taskDevice, type CommandFn } from '../command.js';
import { has } from '../switches.js';

export const run: CommandFn = async (ctx, argv) => {
  let args = argv;
  let name: string | undefined;
  if (!has(ctx.sw, 'uuid') && !has(ctx.sw, 'major')) {
    name = args[0];
    args = args.slice(1);
  }
  const dev = await taskDevice(ctx, name);
  if (!dev) return false;
  const sectorArg = args[0] ?? '';
  if (!/^[ \t]*[+-]?[0-9]+$/.test(sectorArg)) {
    ctx.out.err('Invalid sector.');
    return false;
  }
  // strtoull: a magnitude past 64 bits sets ERANGE (refused), a '-' negates modulo 2^64.
  const mag = BigInt(sectorArg.trim().replace(/^[+-]/, ''));
  if (mag >= 1n << 64n) {
    ctx.out.err('Invalid sector.');
    return false;
  }
  const sector = BigInt.asUintN(64, sectorArg.trim().startsWith('-') ? -mag : mag);
  args = args.slice(1);
  if (args.length <= 0) ctx.out.err('No message supplied.');
  const reply = await ctx.dm.task<{ data?: string }>('message', 'targetMessage', dev, { sector, message: args.join(' ') });
  if (!reply) return false;
  // dm_task_get_message_response: the reply's bytes (latin1 over the socket); puts() adds the newline.
  if (reply.data !== undefined) {
    const bytes = Buffer.from(reply.data, 'latin1');
    ctx.out.print(bytes.length === 0 || bytes.at(-1) === 0x0a ? bytes : Buffer.concat([bytes, Buffer.from('\n')]));
  }
  return true;
};
