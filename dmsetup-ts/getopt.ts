// GNU getopt_long as glibc does it: options anywhere (permuted), clustered
// short options, long options abbreviated to any unambiguous prefix,
// `--opt=value` or `--opt value`, `--` ending options, and glibc's messages.

/** hasArg 'optional': a value only as --name=value (optional_argument). */
export interface LongOption { name: string; hasArg: boolean | 'optional' }

export interface ParsedOption { key: string; value?: string }

export interface GetoptResult {
  options: ParsedOption[];
  args: string[];
  /** glibc's diagnostic (already prefixed with the program name) if parsing failed. */
  error?: string;
}

/** Parse `shortopts` ("ab:c" style) and `longopts` over argv (without the program name). */
export function getoptLong(prog: string, argv: readonly string[], shortopts: string, longopts: readonly LongOption[]): GetoptResult {
  const options: ParsedOption[] = [];
  const args: string[] = [];
  const shortHasArg = new Map<string, boolean>();
  for (let i = 0; i < shortopts.length; i++) {
    const c = shortopts[i]!;
    if (c === ':') continue;
    shortHasArg.set(c, shortopts[i + 1] === ':');
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { args.push(...argv.slice(i + 1)); break; }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const exact = longopts.find((o) => o.name === name);
      let opt = exact;
      if (!opt) {
        const matches = longopts.filter((o) => o.name.startsWith(name));
        if (matches.length === 0) return fail(`${prog}: unrecognized option '${a}'\n`); // glibc prints the whole word, =value too
        if (matches.length > 1) {
          return fail(`${prog}: option '${eq >= 0 ? a.slice(0, eq) : a}' is ambiguous; possibilities:${matches.map((m) => ` '--${m.name}'`).join('')}\n`);
        }
        opt = matches[0]!;
      }
      if (eq >= 0) {
        if (!opt.hasArg) return fail(`${prog}: option '--${opt.name}' doesn't allow an argument\n`);
        options.push({ key: opt.name, value: a.slice(eq + 1) });
      } else if (opt.hasArg === true) {
        if (i + 1 >= argv.length) return fail(`${prog}: option '--${opt.name}' requires an argument\n`);
        options.push({ key: opt.name, value: argv[++i]! });
      } else {
        options.push({ key: opt.name });
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        const hasArg = shortHasArg.get(c);
        if (hasArg === undefined) return fail(`${prog}: invalid option -- '${c}'\n`);
        if (!hasArg) { options.push({ key: c }); continue; }
        if (j + 1 < a.length) options.push({ key: c, value: a.slice(j + 1) });
        else if (i + 1 < argv.length) options.push({ key: c, value: argv[++i]! });
        else return fail(`${prog}: option requires an argument -- '${c}'\n`);
        break;
      }
      continue;
    }
    args.push(a);
  }
  return { options, args };

  function fail(error: string): GetoptResult { return { options, args, error }; }
}

/** C atoi: leading white space, optional sign, digits; 0 if none. */
export function atoi(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?[0-9]+)/.exec(s);
  if (!m) return 0;
  const v = Number(m[1]);
  return Number.isFinite(v) ? Math.trunc(v) | 0 : 0;
}
