// Builds dist/dmsetup-ts/cli.cjs, the CLI as one CommonJS file (esbuild over
// tsc's output): a command then compiles one file instead of resolving and
// linking some twenty ES modules, and Node's ES module loader never starts
// (together about half of the client's start-up; README, Speed). bin.cjs runs
// it. In a source tree it runs main.js instead when any file it was built
// from is newer than itself (a tsc without this step), so it never runs code
// older than dist; an installed package (no sources, mtimes of the unpacking) is
// built once. Beside it, cli-BUILD.cache: V8's code cache from a warm-up run,
// which bin.cjs compiles it with (no parsing; what a command runs comes compiled).
// `npm run build` runs this after tsc; without esbuild installed it builds
// nothing and the CLI runs from main.js.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';

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
 * and the freshness check. The build id goes on the first line (bin.cjs
 * names the code cache by it).
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
      __cliImport("./main.js");
      return;
    }
  }
}
const __cliUrl = require("node:url").pathToFileURL(__filename).href;
`;
}

/**
 * The warm-up run whose compiled functions the code cache keeps: `dmsetup
 * status` on a kernel of its own with one device (switches, libdm, the
 * client, the socket: what every command runs), the kernel stopped after.
 */
async function writeCodeCache(cacheFile: string): Promise<void> {
  const { spawnSync } = await import('node:child_process');
  const os = await import('node:os');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dmsetup-ts-bundle-'));
  const env: NodeJS.ProcessEnv = { ...process.env, DMSETUP_TS_DIR: path.join(tmp, 'kernel'), DMSETUP_TS_PROG: 'dmsetup' };
  delete env.NODE_OPTIONS;
  const run = (entry: string, args: string[], extra: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [path.join(here, entry), ...args], { env: { ...env, ...extra }, stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
  try {
    const create = run('main.js', ['create', 'warm', '--table', '0 8 zero']);
    if (create.status !== 0) throw new Error(`warm-up: dmsetup create: ${create.stderr}`);
    const status = run('bin.cjs', ['status'], { DMSETUP_TS_WRITE_CODE_CACHE: cacheFile });
    if (status.status !== 0 || !fs.existsSync(cacheFile)) throw new Error(`warm-up: dmsetup status: ${status.stderr}`);
  } finally {
    run('main.js', ['kernel', 'stop'], { DMSETUP_TS_PROG: '' });
    fs.rmSync(tmp, { recursive: true, force: true });
  }
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
  let code = out!.text.replace(/^#!.*\n/, '').replace(/^"use strict";\n/, '');
  // Each dynamic import of a module left out goes through bin.cjs's import()
  // (__cliImport): exactly those esbuild reports, and no other import( may remain.
  const dynamic = meta.imports.filter((i) => i.kind === 'dynamic-import');
  let replaced = 0;
  code = code.replace(/\bimport\(("[^"]*")\)/g, (m, spec: string) => {
    if (!dynamic.some((i) => JSON.stringify(i.path) === spec)) return m;
    replaced++;
    return `__cliImport(${spec})`;
  });
  if (replaced !== dynamic.length || /\bimport\(/.test(code)) throw new Error(`cli.cjs: ${dynamic.length} dynamic imports, ${replaced} replaced, or another import( left`);
  const text = header(inputs) + code;
  const build = createHash('sha256').update(text).digest('hex').slice(0, 16);
  for (const f of fs.readdirSync(here)) if (/^cli-[0-9a-f]+\.cache$/.test(f)) fs.rmSync(path.join(here, f), { force: true });
  const tmp = `${OUT}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `// build ${build}\n${text}`);
  fs.renameSync(tmp, OUT);
  try {
    await writeCodeCache(path.join(here, `cli-${build}.cache`));
  } catch (e) {
    // cli.cjs works without: it is then compiled at each start.
    process.stderr.write(`dmsetup-ts: no code cache for cli.cjs: ${(e as Error).message}\n`);
  }
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
