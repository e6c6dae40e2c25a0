// dm_split_args: the kernel's splitting of a target's parameter string.
// Runs of white space separate words; a backslash makes the next character literal.

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';

export function splitArgs(input: string): string[] {
  const argv: string[] = [];
  let i = 0;
  const n = input.length;
  for (;;) {
    while (i < n && isSpace(input[i]!)) i++;
    if (i >= n) break;
    let word = '';
    while (i < n) {
      const c = input[i]!;
      if (c === '\\' && i + 1 < n) { word += input[i + 1]; i += 2; continue; }
      if (isSpace(c)) break;
      word += c;
      i++;
    }
    if (i < n) i++; // the white space that ended the word
    argv.push(word);
  }
  return argv;
}
