// dmsetup's command-line switches (lvm2 v2_03_16 _process_switches): the
// option table in its order (getopt's ambiguity messages list it so), and
// the checks made after parsing.

import { atoi, getoptLong, type LongOption } from './getopt.js';

const SHORTOPTS = 'cCfG:hj:m:M:no:O:rS:u:U:vy';

/** long_options[] of dmsetup 1.02.185, in order; true = takes an argument. */
const LONG: Array<[string, boolean]> = [
  ['readonly', false], ['alias', true], ['alldevices', false], ['allprograms', false], ['allregions', false],
  ['area', false], ['areas', true], ['areasize', true], ['bounds', true], ['checks', false], ['clear', false],
  ['columns', false], ['concise', false], ['count', true], ['deferred', false], ['select', true], ['exec', true],
  ['filemap', false], ['follow', true], ['force', false], ['foreground', false], ['gid', true], ['group', false],
  ['groupid', true], ['help', false], ['histogram', false], ['inactive', false], ['interval', true], ['length', true],
  ['manglename', true], ['major', true], ['minor', true], ['mode', true], ['nameprefixes', false], ['nogroup', false],
  ['noflush', false], ['noheadings', false], ['nolockfs', false], ['noopencount', false], ['nosuffix', false],
  ['notable', false], ['notimesuffix', false], ['udevcookie', true], ['nomonitor', false], ['noudevrules', false],
  ['noudevsync', false], ['options', true], ['precise', false], ['programid', true], ['raw', false],
  ['readahead', true], ['region', false], ['regions', true], ['regionid', true], ['relative', false],
  ['retry', false], ['rows', false], ['segments', false], ['separator', true], ['setuuid', false],
  ['showkeys', false], ['sort', true], ['start', true], ['table', true], ['target', true], ['tree', false],
  ['uid', true], ['units', true], ['uuid', true], ['unbuffered', false], ['unquoted', false], ['userdata', true],
  ['verbose', true], ['verifyudev', false], ['version', false], ['yes', false], ['addnodeonresume', false],
  ['addnodeoncreate', false],
];
const LONG_OPTIONS: LongOption[] = LONG.map(([name, hasArg]) => ({ name, hasArg }));

/** Short options and the long option each is the same switch as. */
const SHORT_TO_LONG: Record<string, string> = {
  c: 'columns', C: 'columns', f: 'force', G: 'gid', h: 'help', j: 'major', m: 'minor', M: 'mode',
  n: 'notable', o: 'options', O: 'sort', r: 'readonly', S: 'select', u: 'uuid', U: 'uid', v: 'verbose', y: 'yes',
};

export interface Switches {
  /** How many times each switch was given, by long name. */
  count: Record<string, number>;
  /** The last argument of each switch that takes one. */
  value: Record<string, string>;
  major?: number;
  minor?: number;
  manglename: 'none' | 'auto' | 'hex';
  /** --udevcookie's value (0 when invalid: "Incorrect cookie value." was logged). */
  udevCookie?: number;
  /** --readahead as dm_task_set_read_ahead takes it: sectors (u32; auto UINT32_MAX, none 0), '+' the minimum flag. */
  readAhead?: { sectors: number; minimum: boolean };
}

/** DM_READ_AHEAD_AUTO: the kernel's own read-ahead is kept. */
export const DM_READ_AHEAD_AUTO = 0xffffffff;

export function has(sw: Switches, name: string): boolean { return (sw.count[name] ?? 0) > 0; }

/**
 * `error`: complete stderr text. `exitZero`: --help or --version was seen
 * before the error, and dmsetup exits 0 whatever failed.
 */
export type SwitchResult = { sw: Switches; args: string[]; stderr: string; stdout: string } | { error: string; exitZero: boolean; stdout?: string };

/** _get_cookie_value: strtoul(s, &p, 0), refusing errno, 0, trailing text and values over UINT32_MAX; 0 if refused. */
export function cookieValue(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return 0;
  const v = Number(m[2]!.length > 1 && /^0[xX]/.test(m[2]!) ? BigInt(m[2]!) : m[2]!.startsWith('0') ? BigInt('0o' + (m[2]!.slice(1) || '0')) : BigInt(m[2]!));
  if (m[1] === '-' || v > 0xffffffff) return 0; // a negated value wraps to beyond UINT32_MAX
  return v;
}

/** Parse argv (after the program name); errors are complete stderr text. */
export function processSwitches(prog: string, argv: readonly string[]): SwitchResult {
  const parsed = getoptLong(prog, argv, SHORTOPTS, LONG_OPTIONS);
  const sw: Switches = { count: {}, value: {}, manglename: 'auto' };
  // Lines logged while parsing that do not stop it.
  let stderr = '', stdout = '';
  const err = (msg: string): SwitchResult => ({ error: `${stderr}${msg}\nCouldn't process command line.\n`, exitZero: has(sw, 'help') || has(sw, 'version'), stdout });
  for (const o of parsed.options) {
    const name = SHORT_TO_LONG[o.key] ?? o.key;
    sw.count[name] = (sw.count[name] ?? 0) + 1;
    if (o.value === undefined) continue;
    sw.value[name] = o.value;
    switch (name) {
      case 'major': sw.major = atoi(o.value); break;
      case 'minor': sw.minor = atoi(o.value); break;
      case 'count':
        if (atoi(o.value) < 0) return err('Count must be zero or greater.');
        break;
      case 'interval':
        if (atoi(o.value) <= 0) return err('Interval must be a positive integer.');
        break;
      case 'mode': {
        const m = /^[ \t]*[+-]?[0-7]+$/.test(o.value) ? parseInt(o.value, 8) : NaN;
        if (!m) return err(`Invalid argument for --mode: ${o.value}. `);
        break;
      }
      case 'manglename': {
        const v = o.value.toLowerCase();
        if (v !== 'none' && v !== 'auto' && v !== 'hex') return err('Unknown name mangling mode.');
        sw.manglename = v;
        break;
      }
      case 'udevcookie':
        sw.udevCookie = cookieValue(o.value);
        if (!sw.udevCookie) stderr += 'Incorrect cookie value.\n';
        break;
      case 'readahead': {
        const v = o.value.toLowerCase();
        if (v === 'auto') sw.readAhead = { sectors: DM_READ_AHEAD_AUTO, minimum: sw.readAhead?.minimum ?? false };
        else if (v === 'none') sw.readAhead = { sectors: 0, minimum: sw.readAhead?.minimum ?? false };
        else {
          // atoi, into an int; a '+' sets _read_ahead_flags for good.
          const n = atoi(o.value);
          if (n < -1) return err(`Negative read ahead value (${n}) is not understood.`);
          sw.readAhead = { sectors: n >>> 0, minimum: /^[ \t\n\v\f\r]*\+/.test(o.value) || (sw.readAhead?.minimum ?? false) };
        }
        break;
      }
    }
  }
  if (parsed.error) return { error: stderr + parsed.error + "Couldn't process command line.\n", exitZero: has(sw, 'help') || has(sw, 'version') };
  // -vvv: dmsetup's initial timestamp, logged at debug level (on stdout, as libdm's default log prints debug lines).
  stdout = (sw.count.verbose ?? 0) > 2 ? 'Timestamp:       0.000000000 seconds\n' : '';
  if (has(sw, 'major') !== has(sw, 'minor')) return err('Please specify both major number and minor number.');
  if (has(sw, 'table') && has(sw, 'notable')) return err('--table and --notable are incompatible.');
  if (has(sw, 'addnodeonresume') && has(sw, 'addnodeoncreate')) return err('--addnodeonresume and --addnodeoncreate are incompatible.');
  return { sw, args: parsed.args, stderr, stdout };
}
