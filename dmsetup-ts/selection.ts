// -S/--select: libdm-report's selection language over report fields:
// `field op value` (=, !=, =~, !~, <, <=, >, >=), joined by && (or ,), ||
// (or #), negated by !, grouped with parentheses. Values may be quoted.

export type FieldValue = string | number;

export interface Selection { matches(get: (field: string) => FieldValue | undefined): boolean }

type Node =
  | { kind: 'and' | 'or'; left: Node; right: Node }
  | { kind: 'not'; inner: Node }
  | { kind: 'cmp'; field: string; op: string; value: string };

const SYNTAX_AT = (at: string) => `Selection syntax error at '${at}'.`;
const HELP_REF = "Use 'help' for selection to get more help.";

/** libdm's lines for a selection it refuses; fieldList: its typed field list goes first (an unknown field). */
export class SelectionError extends Error {
  constructor(readonly lines: string[], readonly fieldList = false) { super(lines.join('\n')); }
}

/** Parse a selection; fieldKnown tells whether a field name exists. */
export function parseSelection(text: string, fieldKnown: (f: string) => boolean): Selection {
  let i = 0;
  const ws = () => { while (i < text.length && /\s/.test(text[i]!)) i++; };
  const expr = (): Node => {
    let left = term();
    for (;;) {
      ws();
      if (text.startsWith('||', i)) i += 2;
      else if (text[i] === '#') i++;
      else return left;
      left = { kind: 'or', left, right: term() };
    }
  };
  const term = (): Node => {
    let left = factor();
    for (;;) {
      ws();
      if (text.startsWith('&&', i)) i += 2;
      else if (text[i] === ',') i++;
      else return left;
      left = { kind: 'and', left, right: factor() };
    }
  };
  const factor = (): Node => {
    ws();
    if (text[i] === '!' && text[i + 1] !== '=' && text[i + 1] !== '~') { i++; return { kind: 'not', inner: factor() }; }
    if (text[i] === '(') {
      i++;
      const n = expr();
      ws();
      if (text[i] !== ')') throw new SelectionError([`Syntax error: right parenthesis expected at '${text.slice(i)}'`]);
      i++;
      return n;
    }
    // _parse_selection: a field name, known, then an operator (errors say where the item starts).
    const at = text.slice(i);
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(at);
    if (!name) throw new SelectionError(['Expecting field name', SYNTAX_AT(at), HELP_REF]);
    if (!fieldKnown(name[0])) throw new SelectionError([`Unrecognised selection field: ${name[0]}`, SYNTAX_AT(at), HELP_REF], true);
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|<=|>=|=|<|>)\s*/.exec(at);
    if (!m) throw new SelectionError([SYNTAX_AT(at), HELP_REF]);
    const field = m[1]!;
    i += m[0].length;
    let value = '';
    const q = text[i];
    if (q === '"' || q === "'") {
      const end = text.indexOf(q, i + 1);
      if (end < 0) throw new SelectionError(['Missing end quote.', SYNTAX_AT(at), HELP_REF]);
      value = text.slice(i + 1, end);
      i = end + 1;
    } else {
      const v = /^[^\s&|,#()]*/.exec(text.slice(i))![0];
      value = v;
      i += v.length;
    }
    return { kind: 'cmp', field, op: m[2]!, value };
  };
  const root = expr();
  ws();
  if (i < text.length) throw new SelectionError(['Expecting logical operator', SYNTAX_AT(text.slice(i)), HELP_REF]);
  return { matches: (get) => evaluate(root, get) };
}

function evaluate(n: Node, get: (field: string) => FieldValue | undefined): boolean {
  switch (n.kind) {
    case 'and': return evaluate(n.left, get) && evaluate(n.right, get);
    case 'or': return evaluate(n.left, get) || evaluate(n.right, get);
    case 'not': return !evaluate(n.inner, get);
    case 'cmp': {
      const v = get(n.field);
      if (v === undefined) return false;
      if (n.op === '=~' || n.op === '!~') {
        const re = new RegExp(n.value);
        return re.test(String(v)) === (n.op === '=~');
      }
      const c = typeof v === 'number' && /^-?[0-9]+$/.test(n.value) ? v - Number(n.value) : String(v) < n.value ? -1 : String(v) > n.value ? 1 : 0;
      switch (n.op) {
        case '=': return c === 0;
        case '!=': return c !== 0;
        case '<': return c < 0;
        case '<=': return c <= 0;
        case '>': return c > 0;
        default: return c >= 0;
      }
    }
  }
}
