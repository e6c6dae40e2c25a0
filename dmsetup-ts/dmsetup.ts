// dmsetup's main(): switches, the command and its argument count, then the
// command once per device argument, "Command failed." at the first failure.

import { cookieValue, processSwitches, has, type Switches } from './switches.js';
import { COMMANDS, findCommand, usage } from './commands/index.js';
import { Libdm, NoKernel, type TaskFlags } from './libdm.js';
import { stdio, type Output } from './output.js';
import { processAll, type CommandDef, type Ctx } from './command.js';
import { processOptions, type DmOptions } from './options.js';
import { unitsToFactor } from './units.js';

let stdinText: Promise<string> | null = null;
function readStdin(): Promise<string> {
  stdinText ??= new Promise((resolve) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
  return stdinText;
}

export async function dmsetupMain(prog: string, argv: string[], out: Output = stdio): Promise<number> {
  const parsed = processSwitches(prog, argv);
  if ('error' in parsed) {
    if (parsed.stdout) out.print(parsed.stdout);
    process.stderr.write(parsed.error);
    return parsed.exitZero ? 0 : 1;
  }
  if (parsed.stdout) out.print(parsed.stdout);
  if (parsed.stderr) process.stderr.write(parsed.stderr);
  const { sw } = parsed;
  let args = parsed.args;
  const helpOrVersion = has(sw, 'help') || has(sw, 'version');
  let cmd: CommandDef | undefined;
  // `dmsetup stats ...` is dmstats: its own usage, help and version (_base_command_type STATS_TYPE).
  const statsBase = args[0] === 'stats';
  const baseUsage = async () => (statsBase ? (await import('./commands/stats.js')).statsUsage() : usage());
  let subcommand: string | undefined;
  if (statsBase && helpOrVersion) {
    cmd = findCommand('stats')!;
    subcommand = has(sw, 'help') ? 'help' : 'version';
    args = [];
  } else if (has(sw, 'help')) cmd = findCommand('help')!;
  else if (has(sw, 'version')) cmd = findCommand('version')!;
  else {
    const name = args.shift();
    if (name === undefined) {
      process.stderr.write(usage());
      return 1;
    }
    cmd = findCommand(name);
    if (!cmd) {
      out.err('Unknown command.');
      process.stderr.write(usage());
      return 1;
    }
    if (args.length < cmd.minArgs || (cmd.maxArgs >= 0 && args.length > cmd.maxArgs)) {
      out.err('Incorrect number of arguments.');
      process.stderr.write(await baseUsage());
      return 1;
    }
    if (statsBase) subcommand = args.shift();
  }
  return runCommand(prog, cmd, sw, helpOrVersion && !statsBase ? [] : args, out, helpOrVersion, subcommand);
}

async function runCommand(prog: string, cmd: CommandDef, sw: Switches, args: string[], out: Output, helpOrVersion: boolean, subcommand?: string): Promise<number> {
  if (cmd.name === 'splitname') sw.count.columns = 1;
  // stats is always a column report (its subcommands that print none free it).
  if (cmd.name === 'stats') sw.count.columns = (sw.count.columns ?? 0) + 1;
  let options: DmOptions | null = { devNameType: 'devno', tree: null };
  if (!helpOrVersion) {
    options = processOptions(sw, out);
    if (!options) {
      out.err("Couldn't process command line.");
      return 1;
    }
  }
  let selectionCommand: CommandDef | undefined;
  if (has(sw, 'select') && cmd.repeatable === 2) {
    // Run "info -c" first and the real command for each device it selects.
    selectionCommand = cmd;
    sw.count.columns = 1;
    cmd = findCommand('info')!;
  }

  // The flags dmsetup sets on (nearly) every task it makes; _mangle sets enable_checks unless --checks.
  const common: TaskFlags = { noOpenCount: has(sw, 'noopencount'), queryInactive: has(sw, 'inactive'), enableChecks: cmd.name === 'mangle' ? !has(sw, 'checks') : has(sw, 'checks') };
  const dm = new Libdm(out, cmd.name === 'mangle' ? 'none' : sw.manglename, sw.count.verbose ?? 0, common);
  dm.addNodeOnCreate = has(sw, 'addnodeoncreate');
  dm.taskReadAhead = sw.readAhead;
  // _set_up_udev_support: without --udevcookie, a cookie from DM_UDEV_COOKIE (an invalid one is said and ignored).
  const envCookie = process.env.DM_UDEV_COOKIE;
  if (!sw.udevCookie && envCookie) {
    const v = cookieValue(envCookie);
    if (!v) out.err('Incorrect cookie value.');
    else {
      sw.udevCookie = v;
      dm.debug(`Using udev transaction 0x${v.toString(16).toUpperCase().padStart(8, '0')} defined by DM_UDEV_COOKIE environment variable.`);
    }
  }
  const ctx: Ctx = {
    prog, sw, dm, out, cmd, options, subcommand,
    multipleDevices: cmd.repeatable !== 0 && args.length !== 1 && (args.length > 0 || (!has(sw, 'uuid') && !has(sw, 'major'))),
    stdin: readStdin,
    selectionCommand,
  };
  let ret = 0;
  try {
    if (has(sw, 'columns') && !['help', 'version'].includes(cmd.name)) {
      if (has(sw, 'sort') && (cmd.name === 'status' || cmd.name === 'table')) {
        out.err('--sort is not yet supported with status and table.');
        return 1;
      }
      const { Report } = await import('./report.js');
      const report = cmd.name === 'stats'
        ? Report.init(ctx, (await import('./commands/stats.js')).statsReportOptions(ctx, subcommand))
        : cmd.name === 'splitname' ? Report.init(ctx, 'vg_name,lv_name,lv_layer', 'name') : Report.init(ctx);
      if (!report) return 1;
      // _build_whole_deptree: every device's deps, through _process_all (which says when there are none).
      if (report.hasTreeType && report.fields.length) await processAll(ctx, [], async () => true);
      // -o help: the field list was printed; the command still runs (its report has no fields).
      ctx.report = report;
    }
    const { run } = await cmd.load();
    // _count: --count N reports N times (0: until interrupted), --interval alone repeats too.
    const countArg = has(sw, 'count') ? Math.trunc(Number(sw.value.count)) || 0 : 0;
    // After -o help dmsetup has no report and leaves main() before reading them: one run.
    const helpOnly = ctx.report?.helpShown === true;
    // _disp_factor: checked once the report is set up (after -o help, dmsetup has left), before the command runs.
    if (!helpOnly && has(sw, 'units') && !unitsToFactor(sw.value.units ?? '')) {
      out.err('Invalid --units argument.');
      return 1;
    }
    let count = helpOnly ? 1 : countArg ? countArg : has(sw, 'count') || has(sw, 'interval') ? Infinity : 1;
    const intervalMs = (has(sw, 'interval') ? Math.trunc(Number(sw.value.interval)) || 1 : 1) * 1000;
    for (;;) {
      let ok = true;
      let rest = args;
      do {
        if (!(await run(ctx, rest))) {
          out.err('Command failed.');
          ret = 1;
          ok = false;
          break;
        }
        rest = rest.slice(1);
      } while (cmd.repeatable && rest.length > 0);
      if (has(sw, 'concise') && cmd.name === 'table') {
        const { conciseOutputProduced } = await import('./commands/status.js');
        if (conciseOutputProduced()) out.print('\n');
      }
      if (ctx.report) {
        ctx.report.output();
        if (count > 1 && ok) {
          // _do_report_wait: a blank line, then the rest of the interval.
          out.print('\n');
          await new Promise((r) => setTimeout(r, intervalMs));
          if (cmd.name === 'stats') (await import('./commands/stats.js')).newStatsInterval();
        }
      }
      if (!ok) {
        dm.stack(); // main's goto_out
        break;
      }
      if (--count <= 0) break;
    }
  } catch (e) {
    if (!(e instanceof NoKernel)) throw e;
    out.err(`dmsetup-ts: cannot reach the emulated kernel: ${e.message}`);
    out.err('Command failed.');
    ret = 1;
  } finally {
    // dm_lib_exit: node operations still stacked are done.
    await dm.processNodeOps().catch(() => undefined);
    dm.close();
  }
  return helpOrVersion ? 0 : ret;
}

export { COMMANDS };
