// libdm's regular expressions (libdm/regex: parse_rx.c and matcher.c), as
// selections use them: dm_regex_create wraps the pattern as "(.*(PAT)\0)",
// parses it with rx_parse_tok (its charsets of bytes, '.', [..] and [^..],
// escapes, * + ?, |, parentheses; '^' and '$' are the characters HAT_CHAR and
// DOLLAR_CHAR), and dm_regex_match runs it over HAT_CHAR, the string's bytes
// and DOLLAR_CHAR, matching as soon as the end marker '\0' is reached. A
// pattern that does not parse gives parse_rx's log lines instead.

const HAT_CHAR = 0x2;
const DOLLAR_CHAR = 0x3;
const TARGET_TRANS = 0;

type RxNode =
  | { type: 'charset'; set: boolean[] }
  | { type: 'cat' | 'or'; left: RxNode; right: RxNode }
  | { type: 'star' | 'plus' | 'quest'; left: RxNode };

/** rx_parse_tok over bytes; errors are collected as libdm logs them. */
function parse(bytes: number[], errors: string[]): RxNode | null {
  let cursor = 0;
  const end = bytes.length;
  // The current token: 0 a charset, a character code for ( ) * + ? |, -1 the end or an error.
  let type = -1;
  let charset: boolean[] = [];
  const single = (c: number, at: number) => { type = 0; cursor = at + 1; charset = new Array(256).fill(false); charset[c] = true; };
  /** _rx_get_token. */
  const getToken = (): number => {
    let ptr = cursor;
    if (ptr === end) { type = -1; return 0; }
    const ch = bytes[ptr]!;
    switch (ch) {
      case 0x5b: { // '['
        let neg = false, range = false, lc = 0, c = 0;
        ptr++;
        if (bytes[ptr] === 0x5e) { // '^'
          charset = new Array(256).fill(true);
          charset[0] = false; // never transition on zero
          neg = true;
          ptr++;
        } else charset = new Array(256).fill(false);
        while (ptr < end && bytes[ptr] !== 0x5d) {
          if (bytes[ptr] === 0x5c) { // an escaped character
            ptr++;
            const e = bytes[ptr] ?? 0;
            c = e === 0x6e ? 0x0a : e === 0x72 ? 0x0d : e === 0x74 ? 0x09 : e;
          } else if (bytes[ptr] === 0x2d && lc) { // a range
            range = true;
            ptr++;
            if (ptr === end) { errors.push('Incomplete rangespecification'); return -1; }
            c = bytes[ptr]!;
          } else c = bytes[ptr]!;
          if (range) {
            if (lc > c) [lc, c] = [c, lc];
            for (; lc <= c; lc++) charset[lc] = !neg;
            range = false;
          } else charset[c] = !neg;
          ptr++;
          lc = c;
        }
        if (ptr >= end) { type = -1; return -1; }
        type = 0;
        cursor = ptr + 1;
        break;
      }
      case 0x28: case 0x29: case 0x2a: case 0x2b: case 0x3f: case 0x7c: // ( ) * + ? |
        type = ch;
        cursor = ptr + 1;
        break;
      case 0x5e: single(HAT_CHAR, ptr); break;
      case 0x24: single(DOLLAR_CHAR, ptr); break;
      case 0x2e: // '.': all but newline
        type = 0;
        cursor = ptr + 1;
        charset = new Array(256).fill(true);
        charset[0x0a] = charset[0x0d] = charset[0] = false;
        break;
      case 0x5c: { // an escaped character
        ptr++;
        if (ptr >= end) { errors.push('Badly quoted character at end of expression'); type = -1; return -1; }
        const e = bytes[ptr]!;
        single(e === 0x6e ? 0x0a : e === 0x72 ? 0x0d : e === 0x74 ? 0x09 : e, ptr);
        break;
      }
      default:
        single(ch, ptr);
    }
    return 1;
  };
  const term = (): RxNode | null => {
    if (type === 0) {
      const n: RxNode = { type: 'charset', set: charset };
      getToken();
      return n;
    }
    if (type === 0x28) {
      getToken();
      const n = orTerm();
      if ((type as number) !== 0x29) { errors.push("missing ')' in regular expression"); return null; }
      getToken();
      return n;
    }
    return null;
  };
  const closureTerm = (): RxNode | null => {
    let l = term();
    if (!l) return null;
    for (;;) {
      const t = type === 0x2a ? 'star' : type === 0x2b ? 'plus' : type === 0x3f ? 'quest' : null;
      if (!t) return l;
      l = { type: t, left: l };
      getToken();
    }
  };
  const catTerm = (): RxNode | null => {
    const l = closureTerm();
    if (!l) return null;
    if (type === 0x7c) return l;
    const r = catTerm();
    return r ? { type: 'cat', left: l, right: r } : l;
  };
  const orTerm = (): RxNode | null => {
    const l = catTerm();
    if (!l) return null;
    if (type !== 0x7c) return l;
    getToken();
    const r = orTerm();
    if (!r) { errors.push("Badly formed 'or' expression"); return null; }
    return { type: 'or', left: l, right: r };
  };
  getToken();
  const r = orTerm();
  if (!r) errors.push('Parse error in regex');
  return r;
}

const hex = (c: number) => `\\x${c.toString(16).padStart(2, '0')}`;

/** The node as a JavaScript pattern over a latin1 string of bytes; the end marker matches the empty string. */
function toSource(n: RxNode): string {
  switch (n.type) {
    case 'charset': {
      if (n.set[TARGET_TRANS]) return '';
      let out = '';
      for (let c = 0; c < 256; c++) {
        if (!n.set[c]) continue;
        let e = c;
        while (e + 1 < 256 && n.set[e + 1]) e++;
        out += e > c ? `${hex(c)}-${hex(e)}` : hex(c);
        c = e;
      }
      return out ? `[${out}]` : '[^\\x00-\\xff]';
    }
    case 'cat': return toSource(n.left) + toSource(n.right);
    case 'or': return `(?:${toSource(n.left)}|${toSource(n.right)})`;
    case 'star': return `(?:${toSource(n.left)})*`;
    case 'plus': return `(?:${toSource(n.left)})+`;
    case 'quest': return `(?:${toSource(n.left)})?`;
  }
}

/** dm_regex_create for one pattern: a matcher (dm_regex_match >= 0), or the lines libdm logs and none. */
export function compileRegex(pattern: string): { match: ((s: string) => boolean) | null; errors: string[] } {
  const errors: string[] = [];
  const bytes = [...Buffer.from(`(.*(${pattern})`, 'utf8'), TARGET_TRANS, 0x29];
  const rx = parse(bytes, errors);
  if (!rx) {
    errors.push("Couldn't parse regex");
    return { match: null, errors };
  }
  const re = new RegExp(`^(?:${toSource(rx)})`);
  const marker = (s: string) => String.fromCharCode(HAT_CHAR) + Buffer.from(s, 'utf8').toString('latin1') + String.fromCharCode(DOLLAR_CHAR);
  return { match: (s) => re.test(marker(s)), errors };
}
