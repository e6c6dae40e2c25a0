// Table text as dmsetup reads it (libdm _parse_line): one target per line,
// `START LENGTH TYPE PARAMS`, blank lines and `#` comments skipped, an inline
// `#` ending the parameters.

import type { TargetSpec } from '../kernel/dm-ioctl.js';

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';

export type ParseResult = { targets: TargetSpec[] } | { error: string };

const U64_MAX = (1n << 64n) - 1n;

/**
 * `%llu` as glibc's sscanf scans it (strtoull): optional white space and sign,
 * digits; a magnitude past 64 bits saturates to ULLONG_MAX, and a '-' negates
 * modulo 2^64 ("-1024" is 2^64-1024).
 */
function scanU64(s: string, i: number): [bigint, number] | null {
  while (i < s.length && isSpace(s[i]!)) i++;
  const m = /^([+-]?)([0-9]+)/.exec(s.slice(i));
  if (!m) return null;
  let v = BigInt(m[2]!);
  if (v > U64_MAX) v = U64_MAX;
  else if (m[1] === '-') v = BigInt.asUintN(64, -v);
  return [v, i + m[0].length];
}

/** Parse one line; null if it is blank or a comment. */
export function parseLine(raw: string): TargetSpec | null | 'invalid' {
  // Trailing white space off, scanning back from the end (a /[...]+$/ regex retries
  // from every position of a long run of white space: quadratic in its length).
  let end = raw.length;
  while (end > 0 && isSpace(raw[end - 1]!)) end--;
  const line = end === raw.length ? raw : raw.slice(0, end);
  let i = 0;
  while (i < line.length && isSpace(line[i]!)) i++;
  if (i >= line.length || line[i] === '#') return null;
  const a = scanU64(line, i);
  if (!a) return 'invalid';
  const b = scanU64(line, a[1]);
  if (!b) return 'invalid';
  i = b[1];
  while (i < line.length && isSpace(line[i]!)) i++;
  let j = i;
  while (j < line.length && !isSpace(line[j]!)) j++;
  if (j === i) return 'invalid';
  const type = line.slice(i, j);
  while (j < line.length && isSpace(line[j]!)) j++;
  let params = line.slice(j);
  const hash = params.indexOf('#');
  if (hash >= 0) params = params.slice(0, hash);
  return { start: a[0], length: b[0], type, params };
}

/** A whole table; `source` names it in errors: a file name, `on stdin`, or '' for --table. */
export function parseTable(text: string, source: string): ParseResult {
  const targets: TargetSpec[] = [];
  const lines = text.split('\n');
  // getline() yields no empty last line after a final newline; --table's strchr loop does.
  if (source !== '' && lines[lines.length - 1] === '') lines.pop();
  for (let n = 0; n < lines.length; n++) {
    const t = parseLine(lines[n]!);
    if (t === 'invalid') return { error: `Invalid format on line ${n + 1} of table ${source}.` };
    if (t) {
      if (t.type.length > 15) return { error: `Target type name ${t.type} is too long.` };
      targets.push(t);
    }
  }
  return { targets };
}
