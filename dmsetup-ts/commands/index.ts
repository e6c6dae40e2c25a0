// The dmsetup commands (lvm2 v2_03_16 _dmsetup_commands[]): usage text,
// argument counts, and the module that runs each, loaded only when used.

import type { CommandDef } from '../command.js';

const c = (name: string, help: string, minArgs: number, maxArgs: number, repeatable: 0 | 1 | 2, load: CommandDef['load']): CommandDef =>
  ({ name, help, minArgs, maxArgs, repeatable, load });

export const COMMANDS: CommandDef[] = [
  c('help', '[-c|-C|--columns]', 0, 0, 0, () => import('./help.js')),
  c('create', '<dev_name>\n' +
    '\t    [-j|--major <major> -m|--minor <minor>]\n' +
    '\t    [-U|--uid <uid>] [-G|--gid <gid>] [-M|--mode <octal_mode>]\n' +
    '\t    [-u|--uuid <uuid>] [--addnodeonresume|--addnodeoncreate]\n' +
    '\t    [--readahead {[+]<sectors>|auto|none}]\n' +
    '\t    [-n|--notable|--table {<table>|<table_file>}]\n' +
    '\tcreate --concise [<concise_device_spec_list>]', 0, 2, 0, () => import('./create.js')),
  c('remove', '[--deferred] [-f|--force] [--retry] <device>...', 0, -1, 2, () => import('./remove.js')),
  c('remove_all', '[-f|--force]', 0, 0, 0, () => import('./remove-all.js')),
  c('suspend', '[--noflush] [--nolockfs] <device>...', 0, -1, 2, () => import('./suspend.js')),
  c('resume', '[--noflush] [--nolockfs] <device>...\n' +
    '\t       [--addnodeonresume|--addnodeoncreate]\n' +
    '\t       [--readahead {[+]<sectors>|auto|none}]', 0, -1, 2, () => import('./resume.js')),
  c('load', '<device> [<table>|<table_file>]', 0, 2, 0, () => import('./load.js')),
  c('clear', '<device>', 0, -1, 2, () => import('./clear.js')),
  c('reload', '<device> [<table>|<table_file>]', 0, 2, 0, () => import('./load.js')),
  c('wipe_table', '[-f|--force] [--noflush] [--nolockfs] <device>...', 0, -1, 2, () => import('./wipe-table.js')),
  c('rename', '<device> [--setuuid] <new_name_or_uuid>', 1, 2, 0, () => import('./rename.js')),
  c('measure', '[<device>...]', 0, -1, 2, () => import('./status.js')),
  c('message', '<device> <sector> <message>', 2, -1, 0, () => import('./message.js')),
  c('ls', '[--target <target_type>] [--exec <command>] [-o <options>] [--tree]', 0, 0, 0, () => import('./ls.js')),
  c('info', '[<device>...]', 0, -1, 1, () => import('./info.js')),
  c('deps', '[-o <options>] [<device>...]', 0, -1, 2, () => import('./deps.js')),
  c('stats', '<command> [<options>] [<device>...]', 1, -1, 1, () => import('./stats.js')),
  c('status', '[<device>...] [--noflush] [--target <target_type>]', 0, -1, 2, () => import('./status.js')),
  c('table', '[<device>...] [--concise] [--target <target_type>] [--showkeys]', 0, -1, 2, () => import('./status.js')),
  c('wait', '<device> [<event_nr>] [--noflush]', 0, 2, 0, () => import('./wait.js')),
  c('mknodes', '[<device>...]', 0, -1, 1, () => import('./mknodes.js')),
  c('mangle', '[<device>...]', 0, -1, 1, () => import('./mangle.js')),
  c('udevcreatecookie', '', 0, 0, 0, () => import('./udev.js')),
  c('udevreleasecookie', '[<cookie>]', 0, 1, 0, () => import('./udev.js')),
  c('udevflags', '<cookie>', 1, 1, 0, () => import('./udev.js')),
  c('udevcomplete', '<cookie>', 1, 1, 0, () => import('./udev.js')),
  c('udevcomplete_all', '[<age_in_minutes>]', 0, 1, 0, () => import('./udev.js')),
  c('udevcookies', '', 0, 0, 0, () => import('./udev.js')),
  c('target-version', '[<target>...]', 1, -1, 1, () => import('./target-version.js')),
  c('targets', '', 0, 0, 0, () => import('./targets.js')),
  c('version', '', 0, 0, 0, () => import('./version.js')),
  c('setgeometry', '<device> <cyl> <head> <sect> <start>', 5, 5, 0, () => import('./setgeometry.js')),
  c('splitname', '<device> [<subsystem>]', 1, 2, 0, () => import('./splitname.js')),
];

export function findCommand(name: string): CommandDef | undefined {
  return COMMANDS.find((cmd) => cmd.name === name);
}

/** _dmsetup_usage. */
export function usage(): string {
  return 'Usage:\n\n' +
    'dmsetup\n' +
    '        [--version] [-h|--help [-c|-C|--columns]]\n' +
    '        [-v|--verbose [-v|--verbose ...]] [-f|--force]\n' +
    '        [--checks] [--manglename {none|hex|auto}]\n' +
    '        [-r|--readonly] [--noopencount] [--noflush] [--nolockfs] [--inactive]\n' +
    '        [--udevcookie <cookie>] [--noudevrules] [--noudevsync] [--verifyudev]\n' +
    '        [-y|--yes] [--readahead {[+]<sectors>|auto|none}] [--retry]\n' +
    '        [-c|-C|--columns] [-o <fields>] [-O|--sort <sort_fields>]\n' +
    '        [-S|--select <selection>] [--nameprefixes] [--noheadings]\n' +
    '        [--separator <separator>]\n\n' +
    COMMANDS.map((cmd) => `\t${cmd.name} ${cmd.help}\n`).join('') +
    '\n<device> may be device name or (if only one) -u <uuid> or -j <major> -m <minor>\n' +
    "<mangling_mode> is one of 'none', 'auto' and 'hex'.\n" +
    "<fields> are comma-separated.  Use 'help -c' for list.\n" +
    '<concise_device_specification> has single-device entries separated by semi-colons:\n' +
    '    <name>,<uuid>,<minor>,<flags>,<table>\n' +
    "        where <flags> is 'ro' or 'rw' (the default) and any of <uuid>, <minor>\n" +
    '        and <flags> may be empty. Separate extra table lines with commas.\n' +
    '    E.g.: dev1,,,,0 100 linear 253:1 0,100 100 error;dev2,,,ro,0 1 error\n' +
    'Table_file contents may be supplied on stdin.\n' +
    'Options are: devno, devname, blkdevname.\n' +
    'Tree specific options are: ascii, utf, vt100; compact, inverted, notrunc;\n' +
    '                           blkdevname, [no]device, active, open, rw and uuid.\n\n';
}
