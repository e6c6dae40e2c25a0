// Builds dist/dmsetup-ts/cli.cjs, the CLI as one CommonJS file (esbuild over
// tsc's output): a command then compiles one file instead of resolving and
// linking some twenty ES modules, and Node's ES module loader never starts
// (together about half of the client's start-up; README, Speed). bin.cjs runs
// it. In a source tree it runs main.js instead when any file it was built
// from is newer than itself (a tsc without this step), so it never runs code
// older than dist; an installed package (no sources, mtimes of the unpacking) is
// built once.
// `npm run build` runs this after tsc; without esbuild installed it builds
// nothing and the CLI runs from main.js.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(here, 'cli.cjs');

/**
 * Commands left out, loaded from their own modules when used: the
 * conformance runner and the cluster pull in packages (yargs, execa, diff)
 * and most of the kernel, which every other command would then parse.
 */
const EXTERNAL = ['./conformance/index.js', './cluster.js'];

/**
 * Run first: strict mode (the modules were ES modules), import.meta.url for
 * the bundled modules (all in this directory, so their relative URLs hold),
 * and the freshness check.
 */
function header(inputs: string[]): string {
  return `"use strict";
// The dmsetup-ts CLI in one file, built by dist/dmsetup-ts/bundle.js from:
const __cliInputs = ${JSON.stringify(inputs)};
{
  // In a source tree (an installed package has no .ts), tsc may have rebuilt the modules since.
  const fs = require("node:fs"), path = require("node:path");
  if (fs.existsSync(path.join(__dirname, "../../dmsetup-ts/main.ts"))) {
    const built = fs.statSync(__filename).mtimeMs;
    if (__cliInputs.some((f) => !(fs.statSync(path.join(__dirname, f), { throwIfNoEntry: false })?.mtimeMs <= built))) {
      // Older than what it was built from: tsc's modules as they are now.
      import("./main.js");
      return;
    }
  }
}
const __cliUrl = require("node:url").pathToFileURL(__filename).href;
`;
}

/**
 * The part of esbuild's API used here, declared rather than imported, so that
 * tsc compiles this file where esbuild (a devDependency) is not installed.
 */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<{
    outputFiles: Array<{ text: string }>;
    metafile: { outputs: Record<string, { imports: Array<{ path: string; kind: string }>; inputs: Record<string, unknown> }> };
  }>;
}
const ESBUILD = 'esbuild';

export async function bundle(): Promise<string | null> {
  let esbuild: Esbuild;
  try {
    esbuild = (await import(ESBUILD)) as Esbuild;
  } catch {
    return null;
  }
  const result = await esbuild.build({
    entryPoints: [path.join(here, 'main.js')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: EXTERNAL,
    define: { 'import.meta.url': '__cliUrl' },
    write: false,
    metafile: true,
    logLevel: 'error',
    outfile: OUT,
  });
  const [out] = result.outputFiles;
  const meta = Object.values(result.metafile.outputs)[0]!;
  // What stays outside must be Node's own modules or the modules named above:
  // a package left to require() would be an ES module CommonJS cannot load.
  const strays = meta.imports.filter((i) => !i.path.startsWith('node:') && !EXTERNAL.includes(i.path));
  if (strays.length) throw new Error(`cli.cjs would load ${strays.map((i) => i.path).join(', ')} at run time`);
  const cwd = process.cwd();
  const inputs = Object.keys(meta.inputs).map((f) => path.relative(here, path.resolve(cwd, f)));
  for (const f of inputs) {
    if (path.dirname(f) !== '.' && fs.readFileSync(path.join(here, f), 'utf8').includes('import.meta')) {
      throw new Error(`${f} uses import.meta but is not in ${here}: its relative URLs would be wrong in cli.cjs`);
    }
  }
  const code = out!.text.replace(/^#!.*\n/, '').replace(/^"use strict";\n/, '');
  const tmp = `${OUT}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, header(inputs) + code);
  fs.renameSync(tmp, OUT);
  return OUT;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  bundle().then(
    (out) => {
      if (!out) process.stderr.write('dmsetup-ts: esbuild is not installed (npm ci installs it): cli.cjs not built, the CLI runs from main.js\n');
    },
    (e: unknown) => {
      process.stderr.write(`dmsetup-ts: bundling the CLI failed: ${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
