// npm run fuzz -- --cases N --seed S [--only table|socket|nbd] [--first I]: each
// fuzzer for longer than the test suite runs it; prints its figures and every
// failure with the case to replay, and exits 1 if anything failed.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSeed } from './rng.js';
import { failureCount, summaryLine, type Summary } from './summary.js';

const FUZZERS = ['table', 'nbd', 'socket'] as const;
type Fuzzer = typeof FUZZERS[number];

interface Args { cases: number; seed: number; only: Fuzzer[]; first: number }

function usage(msg: string): never {
  process.stderr.write(`fuzz: ${msg}\nusage: npm run fuzz -- [--cases N] [--seed S] [--only table|nbd|socket[,...]] [--first I]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { cases: 10_000, seed: runSeed(), only: [...FUZZERS], first: 0 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const val = () => inline ?? argv[++i] ?? usage(`${flag} needs a value`);
    const int = (s: string) => /^[0-9]+$/.test(s) ? Number(s) : usage(`${flag}: not a number: ${s}`);
    switch (flag) {
      case '--cases': a.cases = int(val()); break;
      case '--seed': a.seed = int(val()) >>> 0; break;
      case '--first': a.first = int(val()); break;
      case '--only': {
        const names = val().split(',');
        for (const n of names) if (!(FUZZERS as readonly string[]).includes(n)) usage(`--only: no fuzzer ${n} (${FUZZERS.join(', ')})`);
        a.only = names as Fuzzer[];
        break;
      }
      case '-h': case '--help': usage('help');
      // eslint-disable-next-line no-fallthrough
      default: usage(`unknown argument ${argv[i]}`);
    }
  }
  return a;
}

/** The socket fuzzer is harden's (test/fuzz/socket-fuzz.ts); run it if it is built. */
async function runSocket(a: Args, dir: string): Promise<{ line: string; failed: number; details: string[] }> {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'socket-fuzz.js');
  if (!fs.existsSync(file)) return { line: 'socket: not built (test/fuzz/socket-fuzz.ts is not in this tree)', failed: 0, details: [] };
  const m = await import(file) as { runSocketFuzz(o: { cases: number; seed: number; dir: string }): Promise<Record<string, unknown>> };
  const s = await m.runSocketFuzz({ cases: a.cases, seed: a.seed, dir });
  const problems = Array.isArray(s.problems) ? s.problems as string[] : [];
  const n = (k: string) => (typeof s[k] === 'number' ? s[k] as number : 0);
  const failed = problems.length + n('hangs') + n('kernelDeaths') + n('internalErrors') + (s.deviceIntact === false ? 1 : 0);
  const line = `socket: ${a.cases} cases, seed ${a.seed} in ${(n('ms') / 1000).toFixed(1)} s: ${n('internalErrors')} internal errors, `
    + `${n('hangs')} hangs, ${n('kernelDeaths')} deaths, device ${s.deviceIntact === false ? 'NOT intact' : 'intact'}`;
  return { line, failed, details: problems };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  let failed = 0;
  for (const f of a.only) {
    // Short: the socket path must fit a Unix socket.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `fz${f[0]}-`));
    try {
      if (f === 'socket') {
        const r = await runSocket(a, dir);
        console.log(r.line);
        for (const d of r.details) console.log(`  ${d}`);
        failed += r.failed;
        continue;
      }
      let s: Summary;
      if (f === 'table') s = await (await import('./table-fuzz.js')).runTableFuzz({ cases: a.cases, seed: a.seed, first: a.first });
      else s = await (await import('./nbd-fuzz.js')).runNbdFuzz({ cases: a.cases, seed: a.seed, dir, first: a.first });
      console.log(summaryLine(s));
      for (const x of s.failures) console.log(`  ${JSON.stringify(x)}`);
      if (failureCount(s)) console.log(`  replay one case: npm run fuzz -- --only ${f} --seed ${a.seed} --first CASE --cases 1`);
      failed += failureCount(s);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  process.exit(failed ? 1 : 0);
}

await main();
