// dmsetup's column reports (libdm-report as `info -c` uses it): fields as
// data, widths from the longest value, numbers right-aligned, the header and
// last column padded; --noheadings, --separator, --nameprefixes, --rows, -O.

import type { DmInfo } from '../kernel/dm-ioctl.js';
import { FIELD_HELP_TYPED, SELECTION_HELP } from './selection-help.js';
import { FIELD_HELP } from './report-fields.js';
import type { Ctx } from './command.js';
import { has } from './switches.js';
import { parseSelection, SelectionError, type Selection } from './selection.js';

/** What a row knows about one device. */
export interface ReportObject {
  info: DmInfo;
  name: string;
  uuid: string;
  mangledName: string;
  mangledUuid: string;
  /** Dependencies; name is the dm name, or null for other block devices. */
  deps?: Array<{ major: number; minor: number; name: string | null; blkName: string }>;
  users?: Array<{ major: number; minor: number; name: string }>;
}

interface Field {
  id: string;
  heading: string;
  width: number;
  num: boolean;
  needs?: 'deps' | 'users';
  value(o: ReportObject): string | number;
}

const f = (id: string, heading: string, width: number, num: boolean, value: Field['value'], needs?: Field['needs']): Field => ({ id, heading, width, num, value, needs });

const attr = (i: DmInfo) => `${i.livePresent ? 'L' : '-'}${i.inactivePresent ? 'I' : '-'}${i.suspended ? 's' : '-'}${i.readOnly ? 'r' : 'w'}`;

const FIELDS: Field[] = [
  f('name', 'Name', 16, false, (o) => o.name),
  f('mangled_name', 'MangledName', 16, false, (o) => o.mangledName),
  f('unmangled_name', 'UnmangledName', 16, false, (o) => o.name),
  f('uuid', 'UUID', 32, false, (o) => o.uuid),
  f('mangled_uuid', 'MangledUUID', 32, false, (o) => o.mangledUuid),
  f('unmangled_uuid', 'UnmangledUUID', 32, false, (o) => o.uuid),
  f('read_ahead', 'RAhead', 6, true, () => 256),
  f('blkdevname', 'BlkDevName', 16, false, (o) => `dm-${o.info.minor}`),
  f('attr', 'Stat', 4, false, (o) => attr(o.info)),
  f('tables_loaded', 'Tables', 6, false, (o) => (o.info.livePresent ? (o.info.inactivePresent ? 'Both' : 'Live') : o.info.inactivePresent ? 'Inactive' : 'None')),
  f('suspended', 'Suspended', 9, false, (o) => (o.info.suspended ? 'Suspended' : 'Active')),
  f('readonly', 'Read-only', 9, false, (o) => (o.info.readOnly ? 'Read-only' : 'Writeable')),
  f('devno', 'DevNo', 5, false, (o) => `${o.info.major}:${o.info.minor}`),
  f('major', 'Maj', 3, true, (o) => o.info.major),
  f('minor', 'Min', 3, true, (o) => o.info.minor),
  f('open', 'Open', 4, true, (o) => o.info.openCount),
  f('segments', 'Targ', 4, true, (o) => o.info.targetCount),
  f('events', 'Event', 6, true, (o) => o.info.eventNr),
  f('device_count', '#Devs', 5, true, (o) => o.deps!.length, 'deps'),
  f('devs_used', 'DevNamesUsed', 16, false, (o) => o.deps!.flatMap((d) => (d.name === null ? [] : [d.name])).join(','), 'deps'),
  f('devnos_used', 'DevNosUsed', 16, false, (o) => o.deps!.map((d) => `${d.major}:${d.minor}`).join(','), 'deps'),
  f('blkdevs_used', 'BlkDevNamesUsed', 16, false, (o) => o.deps!.map((d) => d.blkName).join(','), 'deps'),
  f('device_ref_count', '#Refs', 5, true, (o) => o.users!.length, 'users'),
  f('names_using_dev', 'RefNames', 8, false, (o) => o.users!.map((d) => d.name).join(','), 'users'),
  f('devnos_using_dev', 'RefDevNos', 9, false, (o) => o.users!.map((d) => `${d.major}:${d.minor}`).join(','), 'users'),
  f('subsystem', 'Subsys', 6, false, (o) => subsystem(o.uuid)),
  f('vg_name', 'VG', 4, false, (o) => lvmName(o, 0)),
  f('lv_name', 'LV', 4, false, (o) => lvmName(o, 1)),
  f('lv_layer', 'LVLayer', 7, false, (o) => lvmName(o, 2)),
];

const GROUPS: Record<string, string[]> = {
  name_all: ['name', 'mangled_name', 'unmangled_name', 'uuid', 'mangled_uuid', 'unmangled_uuid'],
  info_all: ['read_ahead', 'blkdevname', 'attr', 'tables_loaded', 'suspended', 'readonly', 'devno', 'major', 'minor', 'open', 'segments', 'events'],
  deps_all: ['device_count', 'devs_used', 'devnos_used', 'blkdevs_used', 'device_ref_count', 'names_using_dev', 'devnos_using_dev'],
  splitname_all: ['subsystem', 'vg_name', 'lv_name', 'lv_layer'],
};

const DEFAULT_OPTIONS = 'name,major,minor,attr,open,segments,events,uuid';

function subsystem(uuid: string): string {
  const m = /^([A-Za-z0-9]+)-/.exec(uuid);
  return m ? m[1]! : '';
}

/** VG, LV and layer of an LVM name (`--` is an escaped `-`). */
function lvmName(o: ReportObject, part: number): string {
  if (subsystem(o.uuid) !== 'LVM') return '';
  const parts: string[] = [''];
  const n = o.name;
  for (let i = 0; i < n.length; i++) {
    if (n[i] === '-' && n[i + 1] === '-') { parts[parts.length - 1] += '-'; i++; } else if (n[i] === '-' && parts.length < 3) parts.push('');
    else parts[parts.length - 1] += n[i];
  }
  return parts[part] ?? '';
}

export function fieldHelp(): string { return FIELD_HELP; }

export class Report {
  private rows: ReportObject[] = [];
  private selection: Selection | null = null;
  private constructor(private readonly ctx: Ctx, readonly fields: Field[], private readonly sortKeys: Array<{ field: Field; desc: boolean }>) {}

  /** _report_init: resolve -o / -O; null after printing why not (with `help`, the list). */
  static init(ctx: Ctx): Report | null {
    const opt = has(ctx.sw, 'options') ? ctx.sw.value.options ?? '' : '';
    let options = DEFAULT_OPTIONS;
    if (opt) options = opt.startsWith('+') ? `${DEFAULT_OPTIONS},${opt.slice(1)}` : opt;
    const fields: Field[] = [];
    for (const word of options.split(',')) {
      if (word === 'help' || word === '?') {
        process.stderr.write(FIELD_HELP);
        return new Report(ctx, [], []);
      }
      const ids = GROUPS[word] ?? [word];
      for (const id of ids) {
        const fld = FIELDS.find((x) => x.id === id);
        if (!fld) {
          process.stderr.write(FIELD_HELP);
          ctx.out.err(`Unrecognised field: ${word}`);
          return null;
        }
        fields.push(fld);
      }
    }
    const sortKeys: Array<{ field: Field; desc: boolean }> = [];
    for (const key of (has(ctx.sw, 'sort') ? ctx.sw.value.sort ?? '' : '').split(',').filter(Boolean)) {
      const desc = key.startsWith('-');
      const id = key.replace(/^[+-]/, '');
      const fld = FIELDS.find((x) => x.id === id);
      if (!fld) {
        process.stderr.write(FIELD_HELP);
        ctx.out.err(`dm_report: Unrecognised field: ${key}`);
        return null;
      }
      sortKeys.push({ field: fld, desc });
    }
    const report = new Report(ctx, fields, sortKeys);
    const select = has(ctx.sw, 'select') ? ctx.sw.value.select ?? '' : '';
    if (select.toLowerCase() === 'help' || select === '?') {
      // dm_report_init_with_selection: the help, and the report goes on unselected.
      process.stderr.write(FIELD_HELP_TYPED + SELECTION_HELP);
    } else if (select && select.toLowerCase() !== 'all') {
      try {
        report.selection = parseSelection(ctx.sw.value.select, (id) => id === 'selected' || FIELDS.some((x) => x.id === id));
      } catch (e) {
        if (!(e instanceof SelectionError)) throw e;
        if (e.fieldList) process.stderr.write(FIELD_HELP_TYPED);
        for (const line of e.lines) ctx.out.err(line);
        return null;
      }
    }
    return report;
  }

  /** Whether a device passes -S (always true without it). */
  selects(o: ReportObject): boolean {
    return !this.selection || this.selection.matches((id) => FIELDS.find((x) => x.id === id)?.value(o));
  }

  get selectionNeedsDeps(): boolean { return this.selection !== null; }

  get needsDeps(): boolean { return this.selectionNeedsDeps || this.fields.some((x) => x.needs === 'deps') || this.sortKeys.some((k) => k.field.needs === 'deps'); }
  get needsUsers(): boolean { return this.selectionNeedsDeps || this.fields.some((x) => x.needs === 'users') || this.sortKeys.some((k) => k.field.needs === 'users'); }

  /** dm_report_object: a row, if it passes the selection. */
  add(o: ReportObject): void { if (this.selects(o)) this.rows.push(o); }

  /** dm_report_output. */
  output(): void {
    const sw = this.ctx.sw;
    if (this.fields.length === 0) return;
    const noHeadings = has(sw, 'noheadings');
    const prefixes = has(sw, 'nameprefixes');
    let separator = ' ';
    let aligned = true;
    if (noHeadings) { separator = ':'; aligned = false; }
    if (prefixes) aligned = false;
    if (has(sw, 'separator') && sw.value.separator !== undefined) { separator = sw.value.separator; aligned = false; }
    const quoted = !has(sw, 'unquoted');
    const rows = this.sorted();
    const values = rows.map((o) => this.fields.map((fld) => String(fld.value(o))));
    const widths = this.fields.map((fld, i) => Math.max(fld.width, ...values.map((v) => v[i]!.length)));
    let out = '';
    if (has(sw, 'rows')) {
      if (rows.length === 0) return; // dm_report_output: nothing for no rows, headings included
      this.fields.forEach((fld, i) => {
        const cells = values.map((v) => v[i]!);
        out += (noHeadings ? cells : [fld.heading, ...cells]).join(separator) + '\n';
      });
      this.ctx.out.print(out);
      return;
    }
    if (!noHeadings && rows.length > 0) {
      out += this.fields.map((fld, i) => (prefixes ? fld.heading : aligned ? fld.heading.padEnd(widths[i]!) : fld.heading)).join(separator) + '\n';
    }
    for (const v of values) {
      out += this.fields.map((fld, i) => {
        const s = v[i]!;
        if (prefixes) return `DM_${fld.id.toUpperCase()}=${quoted ? `'${s}'` : s}`;
        if (!aligned) return s;
        return fld.num ? s.padStart(widths[i]!) : s.padEnd(widths[i]!);
      }).join(separator) + '\n';
    }
    this.ctx.out.print(out);
  }

  private sorted(): ReportObject[] {
    if (!this.sortKeys.length) return this.rows;
    return [...this.rows].sort((a, b) => {
      for (const k of this.sortKeys) {
        const va = k.field.value(a), vb = k.field.value(b);
        const c = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va) < String(vb) ? -1 : String(va) > String(vb) ? 1 : 0;
        if (c) return k.desc ? -c : c;
      }
      return 0;
    });
  }
}
