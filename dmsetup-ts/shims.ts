// dmsetup-ts shims DIR: writes small `dmsetup`, `losetup` and `blockdev` wrappers into DIR,
// so that scripts (not only interactive shells, as with an alias) run the
// emulation's with DIR first on PATH.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const usage = `Usage: dmsetup-ts shims [--force] DIR
Writes DIR/dmsetup, DIR/losetup and DIR/blockdev: shell wrappers running this dmsetup-ts
(with this node), for PATH substitution:
    dmsetup-ts shims ~/.local/dmsetup-ts-bin
    export PATH=~/.local/dmsetup-ts-bin:$PATH
DIR is created if missing. A file already there that is not a shim of ours is
left alone unless --force.
`;

const MARK = '# dmsetup-ts shim';
const NAMES = ['dmsetup', 'losetup', 'blockdev'];

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function shimText(prog: string, node = process.execPath, main = fileURLToPath(new URL('./bin.cjs', import.meta.url))): string {
  return `#!/bin/sh\n${MARK}: ${prog} of the emulated kernel (see dmsetup-ts shims --help)\nDMSETUP_TS_PROG=${prog} exec ${q(node)} ${q(main)} "$@"\n`;
}

export async function main(argv: string[]): Promise<number> {
  const force = argv.includes('--force');
  const rest = argv.filter((a) => a !== '--force');
  const bad = rest.find((a) => a.startsWith('-'));
  if (bad || rest.length !== 1) {
    process.stderr.write(`${bad ? `dmsetup-ts shims: unknown option ${bad}\n` : ''}${usage}`);
    return 2;
  }
  const dir = path.resolve(rest[0]!);
  try {
    fs.mkdirSync(dir, { recursive: true });
    for (const name of NAMES) {
      const file = path.join(dir, name);
      let old: string | undefined;
      try { old = fs.readFileSync(file, 'utf8'); } catch { /* none */ }
      if (old !== undefined && !old.includes(MARK) && !force) {
        process.stderr.write(`dmsetup-ts shims: ${file} exists and is not a shim of ours (--force replaces it)\n`);
        return 1;
      }
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, shimText(name), { mode: 0o755 });
      fs.renameSync(tmp, file);
    }
  } catch (e) {
    process.stderr.write(`dmsetup-ts shims: ${dir}: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`${NAMES.map((n) => path.join(dir, n)).join('\n')}\nexport PATH=${q(dir)}:"$PATH"\n`);
  return 0;
}
