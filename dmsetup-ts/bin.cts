#!/usr/bin/env node
// The dmsetup-ts command (package.json's bin; the shims and the conformance
// runner run it too): the one-file CLI cli.cjs (bundle.ts) when it is built,
// else tsc's main.js, which is the same program loaded module by module.
// cli.cjs is compiled with the V8 code cache the build made beside it
// (cli-BUILD.cache, named by the build id on cli.cjs's first line, so it
// never serves another build): no parsing, and the functions a command runs
// come compiled. A cache V8 rejects (another Node) only costs the compile.

import fs = require('node:fs');
import path = require('node:path');
import vm = require('node:vm');

const file = path.join(__dirname, 'cli.cjs');
let source: string | undefined;
try {
  source = fs.readFileSync(file, 'utf8');
} catch {
  // Not built (tsc alone, or esbuild missing).
}
if (source === undefined) void import('./main.js');
else runBundle(source);

function runBundle(text: string): void {
  const build = /^\/\/ build ([0-9a-f]+)\n/.exec(text)?.[1];
  let cachedData: Buffer | undefined;
  try {
    if (build) cachedData = fs.readFileSync(path.join(__dirname, `cli-${build}.cache`));
  } catch {
    // No cache: compiled as any script.
  }
  // CommonJS's own wrapper, plus the module's import(): a script compiled from a
  // code cache has lost its dynamic import callback in Node 20, so cli.cjs
  // loads the modules it leaves out through this module's import() instead.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __cliImport) {${text}\n})`, { filename: file, cachedData });
  const out = process.env.DMSETUP_TS_WRITE_CODE_CACHE;
  // The build's warm-up run (bundle.ts): the cache holds what this command compiled.
  if (out) process.once('exit', () => fs.writeFileSync(out, script.createCachedData()));
  const mod = { exports: {} };
  (script.runInThisContext() as (...a: unknown[]) => void)(mod.exports, require, mod, file, __dirname, (spec: string) => import(spec));
}
