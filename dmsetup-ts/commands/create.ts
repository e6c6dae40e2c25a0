// dmsetup create: a new device, with its table loaded and resumed unless --notable.

import { type CommandFn, type Ctx } from '../command.js';
import { has } from '../switches.js';
import { atoi } from '../getopt.js';
import { readTable } from './table-source.js';
import { displayInfo } from './info.js';

async function createOne(ctx: Ctx, name: string, file: string | undefined, uuid: string | undefined, minor: number | undefined, readOnly: boolean, table?: string, major?: number): Promise<boolean> {
  ctx.dm.taskCreate();
  if (name.includes('/')) {
    ctx.out.err(`Name "${name}" invalid. It contains "/".`);
    return false;
  }
  // dm_task_set_name and dm_task_set_uuid check before anything is read or sent.
  if (ctx.dm.setName(name) === null || (uuid !== undefined && ctx.dm.setUuid(uuid) === null)) return false;
  let targets = null;
  if (!has(ctx.sw, 'notable')) {
    if (table !== undefined) ctx.sw.value.table = table;
    targets = await readTable(ctx, file);
    if (!targets) return false;
  }
  const info = await ctx.dm.createDevice(name, uuid, minor, targets, readOnly, major);
  await ctx.dm.processNodeOps(); // dm_udev_wait
  // _display_info on the create task itself (no ioctl of its own).
  if (info && has(ctx.sw, 'verbose')) return displayInfo(ctx, info);
  return info !== null;
}

/** _create_concise: `name,uuid,minor,flags,table[,table...][;...]`. */
async function createConcise(ctx: Ctx, argv: string[]): Promise<boolean> {
  if (has(ctx.sw, 'table') || has(ctx.sw, 'minor') || has(ctx.sw, 'uuid') || has(ctx.sw, 'notable') || has(ctx.sw, 'inactive')) {
    ctx.out.err('--concise is incompatible with --[no]table, --minor, --uuid and --inactive.');
    return false;
  }
  const input = argv.length ? argv[0]! : await ctx.stdin();
  const fields: string[] = [''];
  const parsed = (n: number) => {
    const f = (i: number) => (i < fields.length ? fields[i] : '(null)');
    return `Parsed ${n} fields: name: ${f(0)} uuid: ${f(1)} minor: ${f(2)} flags: ${f(3)} table: ${f(4)}`;
  };
  let i = 0;
  const isSpace = (ch: string | undefined) => ch !== undefined && /[ \t\n\v\f\r]/.test(ch);
  while (i < input.length) {
    const ch = input[i]!;
    if (ch === '\\') {
      if (i + 1 >= input.length) {
        ctx.out.err('Backslash must be followed by another character at end of string.');
        ctx.out.err(parsed(fields.length));
        return false;
      }
      fields[fields.length - 1] += input[i + 1];
      i += 2;
      continue;
    }
    if (ch === ',' && fields.length < 5) {
      fields.push('');
      i++;
      while (isSpace(input[i])) i++;
      continue;
    }
    if (ch === ',') { fields[4] += '\n'; i++; continue; }
    if (ch === ';' || i + 1 === input.length) {
      if (ch !== ';') fields[fields.length - 1] += ch;
      i++;
      if (fields.length !== 5) {
        ctx.out.err('Five comma-separated fields are required for each device');
        ctx.out.err(parsed(fields.length));
        return false;
      }
      const [name, uuid, minor, flags, table] = fields as [string, string, string, string, string];
      if (flags !== '' && flags !== 'ro' && flags !== 'rw') {
        ctx.out.err(`Invalid flags parameter '${flags}' must be 'ro' or 'rw' or empty.`);
        return false;
      }
      if (!(await createOne(ctx, name, undefined, uuid || undefined, minor ? atoi(minor) : undefined, flags === 'ro', table))) return false;
      delete ctx.sw.value.table;
      fields.length = 0;
      fields.push('');
      while (isSpace(input[i])) i++;
      continue;
    }
    fields[fields.length - 1] += ch;
    i++;
  }
  if (fields.length > 1 || fields[0] !== '') {
    ctx.out.err('Incomplete entry: five comma-separated fields are required for each device');
    ctx.out.err(parsed(fields.length));
    return false;
  }
  return true;
}

export const run: CommandFn = async (ctx, argv) => {
  if (has(ctx.sw, 'concise')) {
    if (argv.length > 1) {
      ctx.out.err('dmsetup create --concise takes at most one argument');
      return false;
    }
    return createConcise(ctx, argv);
  }
  if (!argv.length) {
    ctx.out.err('Please provide a name for the new device.');
    return false;
  }
  return createOne(ctx, argv[0]!, argv[1], has(ctx.sw, 'uuid') ? ctx.sw.value.uuid : undefined,
    has(ctx.sw, 'minor') ? ctx.sw.minor : undefined, has(ctx.sw, 'readonly'), undefined, has(ctx.sw, 'major') ? ctx.sw.major : undefined);
};
