// _parse_file: the table for create/load from --table, a file argument, or stdin.

import * as fs from 'node:fs';
import type { TargetSpec } from '../../kernel/dm-ioctl.js';
import { parseTable } from '../../tables/parse.js';
import type { Ctx } from '../command.js';

/** The targets, or null after logging why they could not be read. */
export async function readTable(ctx: Ctx, file: string | undefined): Promise<TargetSpec[] | null> {
  let text: string;
  let source: string;
  if (ctx.sw.value.table !== undefined) {
    text = ctx.sw.value.table;
    source = '';
  } else if (file !== undefined) {
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      ctx.out.err(`Couldn't open '${file}' for reading.`);
      return null;
    }
    source = file;
  } else {
    text = await ctx.stdin();
    source = 'on stdin';
  }
  const r = parseTable(text, source);
  if ('error' in r) {
    ctx.out.err(r.error);
    return null;
  }
  return r.targets;
}
