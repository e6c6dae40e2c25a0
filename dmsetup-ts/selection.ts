// -S/--select: libdm-report's selection parser (_parse_or_ex, _parse_and_ex,
// _parse_ex, _parse_selection and its _tok_* tokenisers) and the comparisons
// of _compare_selection_field, for the field types dmsetup's reports have
// (number, size, string). Regular expressions are libdm's own (regex.ts).

import { compileRegex } from './regex.js';

/** The type a field compares as (DM_REPORT_FIELD_TYPE_*). */
export type FieldKind = 'number' | 'size' | 'string';

/** What a selection field name resolves to: a report field, or one of libdm's implicit fields. */
export type SelectionField = { id: string; kind: FieldKind } | { implicit: 'selected' | 'help' } | null;

/** A field's value for the comparisons: numbers as u64, sizes in sectors, strings as they are reported. */
export type FieldValue = string | number | bigint;

export interface Selection {
  /** The fields the selection compares (dm_report adds each as a hidden field). */
  readonly fieldIds: string[];
  matches(get: (field: string) => FieldValue | undefined): boolean;
}

type Cmp = { op: number; kind: FieldKind | 'regex'; field: string; num?: bigint; size?: number; str?: string; re?: (s: string) => boolean };
type Node = { type: 'item'; cmp: Cmp; not: boolean } | { type: 'and' | 'or'; set: Node[]; not: boolean };

// The operator flags of _op_cmp and _op_log.
const EQUAL = 0x00200000, NOT = 0x00400000, GT = 0x00800000, LT = 0x01000000, REGEX = 0x02000000, NUMBER = 0x04000000, TIME = 0x08000000;
const SEL_AND = 0x2, SEL_OR = 0x4, MOD_NOT = 0x100, PS = 0x1000, PE = 0x2000, LIST_LS = 0x10000, LIST_LE = 0x20000, SUBSET_LS = 0x40000, SUBSET_LE = 0x80000;

const OP_CMP: Array<[string, number]> = [
  ['=~', REGEX], ['!~', REGEX | NOT], ['=', EQUAL], ['!=', NOT | EQUAL],
  ['>=', NUMBER | TIME | GT | EQUAL], ['>', NUMBER | TIME | GT], ['<=', NUMBER | TIME | LT | EQUAL], ['<', NUMBER | TIME | LT],
  ['since', TIME | GT | EQUAL], ['after', TIME | GT], ['until', TIME | LT | EQUAL], ['before', TIME | LT],
];
const OP_LOG: Array<[string, number]> = [
  ['&&', SEL_AND], [',', SEL_AND], ['||', SEL_OR], ['#', SEL_OR], ['!', MOD_NOT], ['(', PS], [')', PE],
  ['[', LIST_LS], [']', LIST_LE], ['{', SUBSET_LS], ['}', SUBSET_LE],
];

const SYNTAX_AT = (at: string) => `Selection syntax error at '${at}'.`;
const HELP_REF = "Use 'help' for selection to get more help.";

/**
 * A selection libdm refuses: its lines, and the help text it prints first
 * (the typed field list for an unknown field, the selection syntax for an operator).
 */
export class SelectionError extends Error {
  constructor(readonly lines: string[], readonly fieldList = false, readonly selectionHelp = false) { super(lines.join('\n')); }
}

const isSpace = (c: string | undefined) => c !== undefined && /[ \t\n\v\f\r]/.test(c);
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/** dm_units_to_factor on the text after a number: a unit character there (the selection refuses it for numbers). */
const UNIT_CHARS = 'hHrRbBsSkmgtpeKMGTPE';
const UNIT_FACTOR: Record<string, number> = { b: 1, B: 1, s: 512, S: 512, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5, e: 1024 ** 6, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, h: 1, H: 1, r: 1, R: 1 };

/** Parse a selection as _report_set_selection does; resolve names a field (implicit ones first). */
export function parseSelection(text: string, resolve: (name: string) => SelectionField): Selection {
  const fieldIds: string[] = [];
  const skip = (i: number) => { while (i < text.length && isSpace(text[i])) i++; return i; };
  /** _tok_op: an operator of the table at i (after spaces) among the expected flags: [flags, end] (flags 0: none, end at the spaces' end). */
  const tokOp = (table: Array<[string, number]>, i: number, expect: number): [number, number] => {
    i = skip(i);
    for (const [s, f] of table) {
      if (expect && !(f & expect)) continue;
      if (text.startsWith(s, i)) return [f, i + s.length];
    }
    return [0, i];
  };
  /** _tok_value_string: a quoted string to its quote, or unquoted up to an expected operator or a space: [begin, end, next]. */
  const tokString = (i: number, quote: string): [number, number, number] | null => {
    const begin = i;
    if (quote) {
      while (i < text.length && text[i] !== quote) i++;
      if (i >= text.length) { errs.push('Missing end quote.'); return null; }
      return [begin, i, i + 1];
    }
    while (i < text.length) {
      // _tok_op skips spaces before it matches: a space and then an operator ends the value too.
      if (tokOp(OP_LOG, i, SEL_AND | SEL_OR | PE)[0] || text[i] === ' ') break;
      i++;
    }
    return [begin, i, i];
  };
  let errs: string[] = [];
  const fail = (lines: string[], fieldList = false, selectionHelp = false): never => { throw new SelectionError([...errs, ...lines], fieldList, selectionHelp); };

  /** _parse_selection: FIELD OP VALUE; errors end with where the item starts. */
  const parseItem = (s: number): [Node, number] => {
    const bad = (lines: string[], fieldList = false, selectionHelp = false): never => fail([...lines, SYNTAX_AT(text.slice(s)), HELP_REF], fieldList, selectionHelp);
    let i = skip(s);
    const ws = i;
    while (i < text.length && /[A-Za-z0-9_-]/.test(text[i]!)) i++;
    if (i === ws) bad(['Expecting field name']);
    const name = text.slice(ws, i);
    const field = resolve(name);
    if (!field) bad([`Unrecognised selection field: ${name}`], true);
    if (field && 'implicit' in field && field.implicit === 'help') bad([`Selection field is uncomparable: ${name}.`], true);
    const kind: FieldKind = field && 'kind' in field ? field.kind : 'number';
    const id = field && 'id' in field ? field.id : 'selected';
    const [op, afterOp] = tokOp(OP_CMP, i, 0);
    if (!op) bad([`Unrecognised comparison operator: ${text.slice(i)}`], false, true);
    let j = afterOp;
    let cmp: Cmp;
    if (op & REGEX) {
      // _tok_value_regex: quoted by "", '', (), {} or [], or unquoted.
      j = skip(j);
      if (j >= text.length) bad([`Regular expression expected for selection field ${id}`]);
      const open = text[j]!;
      const close = open === '(' ? ')' : open === '{' ? '}' : open === '[' ? ']' : open === '"' || open === "'" ? open : '';
      const t = tokString(close ? j + 1 : j, close);
      if (!t) bad([`Failed to parse regex value for selection field ${id}.`]);
      const [vb, ve, next] = t!;
      j = next;
      // _create_field_selection: a regex is compared as a string.
      if (kind !== 'string') fail([`dm_report: incompatible comparison type for selection field ${id}`]);
      const re = compileRegex(text.slice(vb, ve));
      if (!re.match) fail([...re.errors, `dm_report: failed to create regex matcher for selection field ${id}`]);
      cmp = { op, kind: 'regex', field: id, re: re.match! };
    } else {
      if (op & NUMBER) {
        if (kind === 'string') bad([`Operator can be used only with number, size, time or percent fields: ${text.slice(ws)}`], false, true);
      } else if (op & TIME) {
        bad([`Operator can be used only with time fields: ${text.slice(ws)}`], false, true);
      }
      j = skip(j);
      if (kind === 'string') {
        const q = text[j] === '"' || text[j] === "'" ? text[j]! : '';
        const t = tokString(q ? j + 1 : j, q);
        if (!t) bad([`Failed to parse string value for selection field ${id}.`]);
        cmp = { op, kind, field: id, str: text.slice(t![0], t![1]) };
        j = t![2];
      } else {
        // _tok_value_number: digits with at most one '.'; then a unit only for sizes ('m' by default).
        const vb = j;
        let dot = false;
        while (j < text.length && (isDigit(text[j]) || (!dot && text[j] === '.' && (dot = true)))) j++;
        if (j === vb) bad([`Failed to parse numeric value for selection field ${id}.`]);
        const v = text.slice(vb, j);
        let factor = 0;
        if (text[j] === '%') bad([`Found percent value but ${kind === 'number' ? 'numeric' : 'size'} value expected for selection field ${id}.`]);
        if (text[j] !== undefined && UNIT_CHARS.includes(text[j]!)) {
          if (kind !== 'size') bad([`Found size unit specifier but numeric value expected for selection field ${id}.`]);
          factor = UNIT_FACTOR[text[j]!]!;
          j++;
        } else if (kind === 'size') factor = 1024 * 1024;
        if (kind === 'number') {
          // strtoull: the integer part; ULLONG_MAX with ERANGE past 64 bits.
          const digits = /^[0-9]*/.exec(v)![0] || '0';
          const n = BigInt(digits);
          if (n > 0xffffffffffffffffn) fail([`Field selection value ${v} out of supported range for field ${id}.`]);
          cmp = { op, kind, field: id, num: n };
        } else {
          cmp = { op, kind, field: id, size: (Number(v) * (factor || 1)) / 512 };
        }
      }
    }
    if (!fieldIds.includes(id)) fieldIds.push(id);
    return [{ type: 'item', cmp, not: false }, skip(j)];
  };

  /** _parse_ex: '!' '(' OR ')', '(' OR ')', or an item. */
  const parseEx = (s: number): [Node, number] => {
    const [t, next] = tokOp(OP_LOG, s, MOD_NOT | PS);
    if (t === MOD_NOT) {
      const [ps, afterPs] = tokOp(OP_LOG, next, PS);
      if (!ps) fail([`Syntax error: left parenthesis expected at '${text.slice(next)}'`]);
      const [n, after] = parseOr(afterPs);
      n.not = true; // sn->type |= SEL_MODIFIER_NOT: a negation of a negation stays one
      const [pe, afterPe] = tokOp(OP_LOG, after, PE);
      if (!pe) fail([`Syntax error: right parenthesis expected at '${text.slice(after)}'`]);
      return [n, afterPe];
    }
    if (t === PS) {
      const [n, after] = parseOr(next);
      const [pe, afterPe] = tokOp(OP_LOG, after, PE);
      if (!pe) fail([`Syntax error: right parenthesis expected at '${text.slice(afterPe)}'`]);
      return [n, afterPe];
    }
    return parseItem(skip(s));
  };
  const parseAnd = (s: number): [Node, number] => {
    const set: Node[] = [];
    let i = s;
    for (;;) {
      const [n, next] = parseEx(i);
      set.push(n);
      const [and, after] = tokOp(OP_LOG, next, SEL_AND);
      if (!and) return [set.length === 1 ? n : { type: 'and', set, not: false }, next];
      i = after;
    }
  };
  const parseOr = (s: number): [Node, number] => {
    const set: Node[] = [];
    let i = s;
    for (;;) {
      const [n, next] = parseAnd(i);
      set.push(n);
      const [or, after] = tokOp(OP_LOG, next, SEL_OR);
      if (!or) return [set.length === 1 ? n : { type: 'or', set, not: false }, next];
      i = after;
    }
  };

  const [root, fin] = parseOr(0);
  const rest = skip(fin);
  if (rest < text.length) fail(['Expecting logical operator', SYNTAX_AT(text.slice(rest)), HELP_REF]);
  return { fieldIds, matches: (get) => check(root, get) };
}

/** _check_selection. */
function check(n: Node, get: (field: string) => FieldValue | undefined): boolean {
  let r: boolean;
  if (n.type === 'item') r = compare(n.cmp, get(n.cmp.field));
  else if (n.type === 'and') r = n.set.every((x) => check(x, get));
  else r = n.set.some((x) => check(x, get));
  return n.not ? !r : r;
}

const toU64 = (v: FieldValue): bigint => {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  return /^[0-9]+$/.test(v) ? BigInt(v) : BigInt(Math.trunc(Number(v) || 0));
};

/** _compare_selection_field: _cmp_field_regex, _cmp_field_int, _cmp_field_double, _cmp_field_string. */
function compare(c: Cmp, v: FieldValue | undefined): boolean {
  if (v === undefined) return false;
  const op = c.op & (EQUAL | NOT | GT | LT | NUMBER);
  if (c.kind === 'regex') {
    const m = c.re!(String(v));
    return c.op & NOT ? !m : m;
  }
  if (c.kind === 'string') {
    const eq = String(v) === c.str;
    return op === EQUAL ? eq : op === (NOT | EQUAL) ? !eq : false;
  }
  if (c.kind === 'number') {
    const val = toU64(v), sel = c.num!;
    switch (op) {
      case EQUAL: return val === sel;
      case NOT | EQUAL: return val !== sel;
      case NUMBER | GT: return val > sel;
      case NUMBER | GT | EQUAL: return val >= sel;
      case NUMBER | LT: return val < sel;
      case NUMBER | LT | EQUAL: return val <= sel;
      default: return false;
    }
  }
  const val = typeof v === 'number' ? v : Number(v), sel = c.size!;
  const eq = Math.abs(val - sel) < Number.EPSILON;
  switch (op) {
    case EQUAL: return eq;
    case NOT | EQUAL: return !eq;
    case NUMBER | GT: return val > sel && !eq;
    case NUMBER | GT | EQUAL: return val > sel || eq;
    case NUMBER | LT: return val < sel && !eq;
    case NUMBER | LT | EQUAL: return val < sel || eq;
    default: return false;
  }
}
