// dmsetup's -o for commands that are not column reports (_process_options,
// _process_tree_options): parsed once in main, before any command runs, so a
// bad word is "Couldn't process command line." and never "Command failed.".

import type { Output } from './output.js';
import { has, type Switches } from './switches.js';

export type DevNameType = 'devno' | 'devname' | 'blkdevname';

export interface TreeSymbols { empty2: string; branch2: string; vert2: string; last2: string; single3: string; first3: string }
export const TREE_ASCII: TreeSymbols = { empty2: '  ', branch2: '|-', vert2: '| ', last2: '`-', single3: '---', first3: '-+-' };
export const TREE_UTF: TreeSymbols = { empty2: '  ', branch2: '\u251c\u2500', vert2: '\u2502 ', last2: '\u2514\u2500', single3: '\u2500\u2500\u2500', first3: '\u2500\u252c\u2500' };
const VT_BEG = '\x1b(0\x0f', VT_END = '\x1b(B';
export const TREE_VT100: TreeSymbols = { empty2: '  ', branch2: `${VT_BEG}tq${VT_END}`, vert2: `${VT_BEG}x${VT_END} `, last2: `${VT_BEG}mq${VT_END}`, single3: `${VT_BEG}qqq${VT_END}`, first3: `${VT_BEG}qwq${VT_END}` };

export interface TreeSwitches { device: boolean; blkdevname: boolean; active: boolean; rw: boolean; open: boolean; uuid: boolean; compact: boolean; truncate: boolean; bottomUp: boolean; sym: TreeSymbols }

export interface DmOptions { devNameType: DevNameType; tree: TreeSwitches | null }

/**
 * Walk the comma-separated words as dmsetup does: each word may be a prefix
 * of an option name (strncmp with the word's length); on an unknown word,
 * bad(rest of the string from that word) and null.
 */
function eachWord(options: string, fn: (is: (name: string) => boolean) => boolean): string | null {
  let rest = options;
  while (rest) {
    const comma = rest.indexOf(',');
    const word = comma < 0 ? rest : rest.slice(0, comma);
    if (!fn((name) => name.startsWith(word))) return rest;
    if (comma < 0) break;
    rest = rest.slice(comma + 1);
  }
  return null;
}

function treeOptions(options: string, out: Output): TreeSwitches | null {
  const locale = process.env.LC_ALL || process.env.LC_CTYPE || process.env.LANG || '';
  const sw: TreeSwitches = { device: true, blkdevname: false, active: false, rw: false, open: false, uuid: false, compact: false, truncate: true, bottomUp: false, sym: /utf-?8/i.test(locale) ? TREE_UTF : TREE_ASCII };
  const bad = eachWord(options, (is) => {
    if (is('device')) sw.device = true;
    else if (is('blkdevname')) sw.blkdevname = true;
    else if (is('nodevice')) sw.device = false;
    else if (is('status') || is('table')) { /* accepted; dmsetup displays nothing for them */ }
    else if (is('active')) sw.active = true;
    else if (is('open')) sw.open = true;
    else if (is('uuid')) sw.uuid = true;
    else if (is('rw')) sw.rw = true;
    else if (is('utf')) sw.sym = TREE_UTF;
    else if (is('vt100')) sw.sym = TREE_VT100;
    else if (is('ascii')) sw.sym = TREE_ASCII;
    else if (is('inverted')) sw.bottomUp = true;
    else if (is('compact')) sw.compact = true;
    else if (is('notrunc')) sw.truncate = false;
    else return false;
    return true;
  });
  if (bad !== null) {
    out.err(`Tree options not recognised: ${bad}.`);
    return null;
  }
  return sw;
}

/** _process_options: null (after the error line) when a word is not recognised. */
export function processOptions(sw: Switches, out: Output): DmOptions | null {
  const options = has(sw, 'options') ? sw.value.options ?? '' : '';
  if (has(sw, 'tree')) {
    const tree = treeOptions(options, out);
    return tree ? { devNameType: 'devno', tree } : null;
  }
  const r: DmOptions = { devNameType: 'devno', tree: null };
  // Column options are processed by the report.
  if (has(sw, 'columns') || !has(sw, 'options')) return r;
  const bad = eachWord(options, (is) => {
    if (is('devno')) r.devNameType = 'devno';
    else if (is('blkdevname')) r.devNameType = 'blkdevname';
    else if (is('devname')) r.devNameType = 'devname';
    else return false;
    return true;
  });
  if (bad !== null) {
    out.err(`Option not recognised: ${bad}.`);
    return null;
  }
  return r;
}
