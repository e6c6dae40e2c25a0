// The README as a newcomer follows it: the package packed and installed into a
// temporary prefix, the shims on PATH, then the tour's block run line by line
// in a fresh directory outside the clone; every `# → TEXT` must be in what its
// line prints. Also: the README's tap test is test/readme-example.test.ts, verbatim.

import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { ROOT } from './helpers/cli.js';

const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The indented block after a heading, unindented. */
function block(heading: string, nth = 0): string[] {
  const after = readme.slice(readme.indexOf(heading));
  const blocks = [...after.matchAll(/(?:^ {4}.*\n|^\n)+/gm)].map((m) => m[0]).filter((b) => b.trim());
  return blocks[nth]!.split('\n').filter((l) => l.startsWith('    ')).map((l) => l.slice(4));
}

t.test("the README's tap test is the one npm test runs", async (t) => {
  const inReadme = block('A tap test of your own').join('\n') + '\n';
  const onDisk = fs.readFileSync(path.join(ROOT, 'test/readme-example.test.ts'), 'utf8').replace(/\n\n/g, '\n');
  t.equal(inReadme, onDisk);
});

t.test('install from a packed tarball, then the tour with the shims on PATH', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dmsetup-ts-tour-'));
  const kdir = path.join(tmp, 'k');
  t.teardown(async () => {
    await execa(path.join(tmp, 'prefix/bin/dmsetup-ts'), ['kernel', 'stop'], { env: { DMSETUP_TS_DIR: kdir }, reject: false });
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  // npm pack (dist is built already: no prepare), install offline from npm's cache.
  const pack = await execa('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp, '--json'], { cwd: ROOT, reject: false });
  t.equal(pack.exitCode, 0, `npm pack: ${pack.stderr}`);
  const tgz = path.join(tmp, (JSON.parse(pack.stdout) as Array<{ filename: string }>)[0]!.filename);
  const files = (JSON.parse(pack.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
  t.ok(files.includes('dist/dmsetup-ts/main.js') && files.includes('dist/dmsetup-ts/bin.cjs') && files.includes('dmsetup-ts/conformance/prelude.sh'), 'the CLI and the conformance preludes are packed');
  t.equal(files.includes('dist/dmsetup-ts/cli.cjs'), fs.existsSync(path.join(ROOT, 'dist/dmsetup-ts/cli.cjs')), 'the one-file CLI is packed when built');
  t.notOk(files.some((f) => f.startsWith('dist/dmsetup-ts/bundle.')), 'not the step that builds it');
  t.notOk(files.some((f) => f.startsWith('dist/test/') || f.startsWith('test/')), 'no tests packed');
  const inst = await execa('npm', ['install', '-g', '--prefix', path.join(tmp, 'prefix'), tgz, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: tmp, reject: false });
  t.equal(inst.exitCode, 0, `npm install -g: ${inst.stderr}`);
  const bin = path.join(tmp, 'prefix/bin');
  const shims = await execa(path.join(bin, 'dmsetup-ts'), ['shims', path.join(tmp, 'shims')], { reject: false });
  t.equal(shims.exitCode, 0, `shims: ${shims.stderr}`);
  t.match(shims.stdout, /\/shims\/dmsetup\n.*\/shims\/losetup\n.*\/shims\/blockdev\nexport PATH=/);
  const work = path.join(tmp, 'work');
  fs.mkdirSync(work);
  const env = { PATH: `${path.join(tmp, 'shims')}:${bin}:${process.env.PATH}`, DMSETUP_TS_DIR: kdir, LC_ALL: 'C', HOME: tmp };
  const which = await execa('sh', ['-c', 'for c in dmsetup losetup blockdev dmsetup-ts; do command -v $c; done'], { env, extendEnv: false });
  t.same(which.stdout.split('\n'), [path.join(tmp, 'shims/dmsetup'), path.join(tmp, 'shims/losetup'), path.join(tmp, 'shims/blockdev'), path.join(bin, 'dmsetup-ts')], 'PATH substitution');
  for (const line of block('## A one-minute tour')) {
    const [cmd, comment] = line.split(/\s+# /, 2) as [string, string | undefined];
    const r = await execa('sh', ['-c', cmd], { cwd: work, env, extendEnv: false, reject: false, all: true });
    t.equal(r.exitCode, 0, `${cmd}${r.exitCode ? `: ${r.all}` : ''}`);
    if (comment?.startsWith('→ ')) t.ok(String(r.all).includes(comment.slice(2)), `${cmd} # ${comment}`, { found: r.all });
  }
  t.notOk(fs.existsSync(path.join(kdir, 'kernel.sock')), 'kernel stop stopped it');
});
