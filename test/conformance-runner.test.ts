// The conformance runner itself, on scenarios that need only standard tools
// (echo, printf, sleep), so that it is proven apart from the emulated kernel.

import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkScenario, planRun, runConformance, type ConformanceOptions } from '../dmsetup-ts/conformance/runner.js';
import { discoverScenarios } from '../dmsetup-ts/conformance/discover.js';
import { parseOptions } from '../dmsetup-ts/conformance/options.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Gone, or a zombie waiting for an init that reaps slowly. */
function isDead(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return true;
  }
}

/** Runs the runner and keeps its TAP. */
async function run(opts: ConformanceOptions) {
  let tap = '';
  const { exitCode, results } = await runConformance(opts, (text) => (tap += text));
  return { exitCode, results, tap, lastLine: tap.trimEnd().split('\n').at(-1) };
}

// What `sh` prints for this script is known without running anything of ours.
const SCRIPT = 'echo one\necho two >&2\nprintf "three \\n"\necho\necho four\n';
const GOLDEN = 'one\ntwo\nthree \n\nfour\n';

t.test('a scenario whose output matches its golden byte for byte passes', async (t) => {
  const dir = t.testdir({ 'pass.sh': SCRIPT, 'pass.out': GOLDEN });
  const r = await run({ paths: [dir], timeoutSeconds: 20 });
  t.equal(r.exitCode, 0);
  t.match(r.tap, /^TAP version 14\n1\.\.1\nok 1 - pass\n/);
  t.equal(r.lastLine, '# 1 passed, 0 failed');
});

t.test('a golden off by one byte fails with a unified diff in the diagnostics', async (t) => {
  const variants: Record<string, string> = {
    'one byte changed': GOLDEN.replace('four', 'fout'),
    'trailing space lost': GOLDEN.replace('three \n', 'three\n'),
    'blank line lost': GOLDEN.replace('\n\n', '\n'),
    'final newline lost': GOLDEN.slice(0, -1),
  };
  for (const [what, golden] of Object.entries(variants)) {
    t.equal(Math.abs(golden.length - GOLDEN.length) <= 1, true, `${what}: one byte off`);
    const dir = t.testdir({ scenarios: { 'off.sh': SCRIPT }, expected: { 'off.out': golden } });
    const r = await run({ paths: [path.join(dir, 'scenarios')], timeoutSeconds: 20 });
    t.equal(r.exitCode, 1, `${what}: exit status`);
    t.equal(r.results[0]!.ok, false, `${what}: not ok`);
    t.match(r.tap, /\nnot ok 1 - off\n  ---\n/, `${what}: a failing test point`);
    t.match(r.tap, /\n  diff: \|2\n    --- .*expected\/off\.out\n    \+\+\+ .*off\.sh \(actual output\)\n    @@ /, `${what}: unified diff`);
    t.match(r.tap, /\n    -/, `${what}: the diff removes a line`);
    t.match(r.tap, /\n    \+/, `${what}: the diff adds a line`);
    t.equal(r.lastLine, '# 0 passed, 1 failed', `${what}: summary`);
  }
});

t.test('a hanging scenario fails at the time limit with its output so far, its processes killed', async (t) => {
  const dir = t.testdir({ 'hang.sh': '', 'hang.out': 'before\nafter\n' });
  const pidFile = path.join(dir, 'sleep.pid');
  fs.writeFileSync(path.join(dir, 'hang.sh'), `echo before\nsleep 1000 &\necho $! > '${pidFile}'\nwait\necho after\n`);
  const started = Date.now();
  const r = await run({ paths: [dir], timeoutSeconds: 2 });
  const took = Date.now() - started;
  t.ok(took >= 2000 && took < 15000, `stopped at the limit (${took} ms)`);
  t.equal(r.exitCode, 1);
  t.equal(r.results[0]!.timedOut, true);
  t.equal(r.results[0]!.output.toString(), 'before\n');
  t.match(r.tap, /not ok 1 - hang\n  ---\n  message: "timed out after 2 s/);
  t.match(r.tap, /\n  output_so_far: \|2\n    before\n/);
  t.match(r.tap, /\n    -after\n/);
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  t.ok(isDead(pid), 'the background sleep was killed too');
});

t.test('--update refuses in a kernel-recorded folder and writes goldens elsewhere', async (t) => {
  const dir = t.testdir({
    kernel: { 'KERNEL-RECORDED': 'recorded on Linux\n', scenarios: { 's.sh': SCRIPT }, expected: { 's.out': 'old\n' } },
    emulation: { scenarios: { 's.sh': SCRIPT, 'new.sh': 'echo new\n' }, expected: { 's.out': 'old\n' } },
  });
  await t.rejects(run({ paths: [path.join(dir, 'kernel/scenarios')], update: true }), { name: 'UsageError' });
  await t.rejects(run({ paths: [path.join(dir, 'kernel/scenarios')], update: true }), { message: /refuses.*KERNEL-RECORDED/ });
  t.equal(fs.readFileSync(path.join(dir, 'kernel/expected/s.out'), 'utf8'), 'old\n', 'kernel-recorded golden untouched');

  const emu = path.join(dir, 'emulation/scenarios');
  const before = await run({ paths: [emu] });
  t.equal(before.exitCode, 1, 'fails before the update');
  const updated = await run({ paths: [emu], update: true });
  t.equal(updated.exitCode, 0);
  t.match(updated.tap, /ok 1 - new\n  ---\n  message: "wrote .*expected\/new\.out"/);
  t.equal(fs.readFileSync(path.join(dir, 'emulation/expected/s.out'), 'utf8'), GOLDEN);
  t.equal(fs.readFileSync(path.join(dir, 'emulation/expected/new.out'), 'utf8'), 'new\n', 'a new golden goes to ../expected/');
  const after = await run({ paths: [emu] });
  t.equal(after.exitCode, 0, 'passes after the update');
  t.equal(after.lastLine, '# 2 passed, 0 failed');
});

/**
 * A scenario body that meets the others of its group: it says it is up, then
 * waits (without `sleep`, which would make it timed; at most 30 s) until
 * `count` of them are, and prints how many were. Only scenarios that ran at
 * the same time print `count`.
 */
const meet = (dir: string, n: number, count: number) =>
  `touch ${dir}/up.${n}\ni=0\nwhile [ "$(ls ${dir} | grep -c '^up\\.')" -lt ${count} ] && [ $i -lt 30 ]; do timeout 1 tail -f /dev/null; i=$((i+1)); done\n` +
  `ls ${dir} | grep -c '^up\\.'\n`;

t.test('--jobs runs scenarios in parallel and still reports them in order', async (t) => {
  const files: Record<string, string> = {};
  const group = t.testdir({});
  for (const n of [1, 2, 3, 4]) {
    files[`s${n}.sh`] = meet(group, n, 4);
    files[`s${n}.out`] = '4\n';
  }
  const dir = path.join(group, 'scenarios');
  fs.mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const r = await run({ paths: [dir], jobs: 4, timeoutSeconds: 60 });
  t.equal(r.exitCode, 0, 'all four ran at the same time (each saw the other three)');
  t.match(r.tap, /ok 1 - s1\nok 2 - s2\nok 3 - s3\nok 4 - s4\n/);
});

t.test('a scenario timed by the wall clock (sleep, /proc/uptime) runs alone', async (t) => {
  const files: Record<string, string> = {};
  // Each scenario notes when it starts and ends; the timed ones must overlap nothing.
  const log = t.testdir({});
  const body = (n: number, wait: string) => `echo "start ${n} $(/bin/date +%s%N)" >> ${log}/log\n${wait}\necho "end ${n} $(/bin/date +%s%N)" >> ${log}/log\necho ${n}\n`;
  files['s1.sh'] = body(1, 'timeout 1 tail -f /dev/null');
  files['s2.sh'] = body(2, 'sleep 1');
  // s3 and s4 meet (each waits for the other), so they print 2 only if they ran together.
  const pair = path.join(log, 'pair');
  files['s3.sh'] = body(3, meet(pair, 3, 2));
  files['s4.sh'] = body(4, meet(pair, 4, 2));
  files['s5.sh'] = `# sleep in a comment does not count\n${body(5, 'cut -d" " -f1 /proc/uptime >/dev/null; timeout 1 tail -f /dev/null')}`;
  for (const n of [1, 2, 3, 4, 5]) files[`s${n}.out`] = n === 3 || n === 4 ? `2\n${n}\n` : `${n}\n`;
  const dir = t.testdir(files); // (the same folder as log, made again)
  fs.mkdirSync(pair);
  const r = await run({ paths: [dir], jobs: 4, timeoutSeconds: 60 });
  t.equal(r.exitCode, 0);
  t.same(r.results.map((x) => x.scenario.timed), [false, true, false, false, true], 'sleep and /proc/uptime make a scenario timed');
  const spans = new Map<number, [bigint, bigint]>();
  for (const line of fs.readFileSync(path.join(log, 'log'), 'utf8').trim().split('\n')) {
    const [what, n, ns] = line.split(' ');
    const span = spans.get(Number(n)) ?? [0n, 0n];
    span[what === 'start' ? 0 : 1] = BigInt(ns!);
    spans.set(Number(n), span);
  }
  const overlap = (a: [bigint, bigint], b: [bigint, bigint]) => a[0] < b[1] && b[0] < a[1];
  for (const n of [2, 5]) {
    const others = [...spans].filter(([m, span]) => m !== n && overlap(span, spans.get(n)!)).map(([m]) => m);
    t.same(others, [], `timed s${n} ran alone`);
  }
  t.ok(r.results[2]!.ok && r.results[3]!.ok, 'untimed s3 and s4 ran together');
  t.match(r.tap, /ok 1 - s1\nok 2 - s2\nok 3 - s3\nok 4 - s4\nok 5 - s5\n/);
});

t.test('a scenario in PENDING is reported as TODO and does not fail the run', async (t) => {
  const dir = t.testdir({
    PENDING: '# comment\nfails  issue 9\npasses  issue 10\n',
    scenarios: { 'fails.sh': 'echo no\n', 'passes.sh': 'echo yes\n', 'other.sh': 'echo x\n' },
    expected: { 'fails.out': 'yes\n', 'passes.out': 'yes\n', 'other.out': 'x\n' },
  });
  const r = await run({ paths: [path.join(dir, 'scenarios')] });
  t.equal(r.exitCode, 0);
  t.match(r.tap, /\nnot ok 1 - fails # TODO issue 9\n  ---\n/);
  t.match(r.tap, /\nok 3 - passes # TODO issue 10\n# passes passes now: remove it from PENDING\n/);
  t.equal(r.lastLine, '# 1 passed, 0 failed, 2 todo');
});

t.test('each scenario starts in an empty directory with the helpers and the shims on PATH', async (t) => {
  const dir = t.testdir({
    'env.sh': 'ls -A\nfor h in dm_disk dm_write dm_read leg_read dm_wait_sync dm_klog; do command -v $h; done\nfor c in dmsetup losetup; do command -v $c; done\necho "$DMSETUP_TS_DIR"\ntouch left-behind\n',
  });
  const [scenario] = discoverScenarios([dir]);
  for (let i = 0; i < 2; i++) {
    const r = await checkScenario(scenario!, { paths: [dir], timeoutSeconds: 20 });
    const lines = r.output.toString().split('\n');
    t.same(lines.slice(0, 6), ['dm_disk', 'dm_write', 'dm_read', 'leg_read', 'dm_wait_sync', 'dm_klog'], 'empty cwd, helpers defined');
    t.match(lines[6], /\/bin\/dmsetup$/);
    // Under the VM's BusyBox ash losetup is a function (ash would run its own applet first), else the shim beside dmsetup.
    if (lines[7] === 'losetup') t.pass('losetup: a function sending it to the shim');
    else t.equal(path.dirname(lines[6]!), path.dirname(lines[7]!));
    t.match(lines[8], /\/kernel$/, 'its own kernel directory');
    t.notOk(fs.existsSync(path.dirname(lines[6]!)), 'the sandbox is removed afterwards');
  }
});

t.test('the emulation prelude defines the oracle prelude helpers', async (t) => {
  const helpers = (file: string) => [...fs.readFileSync(file, 'utf8').matchAll(/^([a-z_]+)\(\)/gm)].map((m) => m[1]);
  const ours = path.join(root, 'dmsetup-ts/conformance/prelude.sh');
  const oracle = path.join(root, 'dmsetup-ts/conformance/oracle-prelude.sh');
  t.same(helpers(ours), helpers(oracle));
  t.same(helpers(ours), ['dm_disk', 'dm_write', 'dm_read', 'leg_read', 'dm_wait_sync', 'dm_klog']);
  const shared = path.join(root, '..', 'shared', 'oracle', 'prelude.sh');
  if (fs.existsSync(shared)) t.equal(fs.readFileSync(oracle, 'utf8'), fs.readFileSync(shared, 'utf8'), 'oracle-prelude.sh is shared/oracle/prelude.sh verbatim');
});

t.test('a folder declares the node count of its scenarios (NODES): --nodes N takes exactly those and says which it leaves out', async (t) => {
  const dir = t.testdir({
    'plain.sh': SCRIPT, 'plain.out': GOLDEN,
    one: { NODES: '# inside node 1\n1\n', 'a.sh': SCRIPT, 'a.out': GOLDEN },
    two: { NODES: '2\n', 'b.sh': SCRIPT, 'c.sh': SCRIPT },
    other: { 'ignored.sh': SCRIPT },
    bad: { NODES: 'two\n', 'd.sh': SCRIPT },
  });
  const names = (opts: ConformanceOptions) => { const p = planRun(opts); return [p.scenarios.map((s) => `${s.name}:${s.nodes ?? '-'}`), p.leftOut.map((s) => s.name)]; };
  t.throws(() => planRun({ paths: [dir] }), /bad\/NODES: must hold one node count from 1 to 32/, 'a NODES file that is no count');
  fs.rmSync(path.join(dir, 'bad'), { recursive: true });
  t.same(names({ paths: [dir] }), [['plain:-', 'a:1', 'b:2', 'c:2'], []], 'without --nodes: the folder, and each subfolder with NODES on its own count (not other/)');
  t.same(names({ paths: [dir], nodes: 2 }), [['plain:-', 'b:2', 'c:2'], ['a']], '--nodes 2: the two-node ones (and the undeclared one)');
  t.same(names({ paths: [path.join(dir, 'one')], nodes: 1 }), [['a:1'], []], '--nodes 1 on the one-node folder');
  t.throws(() => planRun({ paths: [path.join(dir, 'two')], nodes: 1 }), /--nodes 1: every scenario named runs on another number of nodes \(2 nodes/, 'nothing left to run');
  t.throws(() => planRun({ paths: [path.join(dir, 'two', 'b.sh')], nodes: 3 }), /b\.sh: .*two\/NODES says its scenarios run on 2 nodes, not on --nodes 3/, 'a scenario named with another count');
  t.throws(() => planRun({ paths: [path.join(dir, 'one')], real: true }), /--real has no cluster: .*a\.sh runs on 1 node/, '--real with a cluster scenario');
  const r = await run({ paths: [path.join(dir, 'one'), path.join(dir, 'two')], nodes: 1, timeoutSeconds: 60 });
  t.match(r.tap, /^TAP version 14\n1\.\.1\n# --nodes 1: left out 2 scenarios on 2 nodes \(.*two\/NODES\): b c\nok 1 - a\n/, 'the report says what it left out; the one-node scenario runs inside node 1');
  t.equal(r.exitCode, 0);
});

t.test('command-line options', async (t) => {
  const opts = await parseOptions(['--jobs', '3', '--timeout', '5', '--expected', 'e', '--update', 'a.sh', 'dir'], () => {});
  t.match(opts, { paths: ['a.sh', 'dir'], jobs: 3, timeoutSeconds: 5, expectedDir: 'e', update: true, real: false });
  const defaults = await parseOptions(['x'], () => {});
  t.match(defaults, { jobs: Number, timeoutSeconds: 120, update: false, real: false });
  await t.rejects(parseOptions(['--jobs', '0', 'x'], () => {}), { name: 'UsageError' });
  await t.rejects(parseOptions(['--frobnicate', 'x'], () => {}));
  await t.rejects(run({ paths: [] }), { name: 'UsageError' });
  await t.rejects(run({ paths: [path.join(root, 'no-such-scenario.sh')] }), { message: /no such scenario/ });
});

t.test('--real on a machine that cannot run it: the plan, then Bail out! with the reason', async (t) => {
  const { execa } = await import('execa');
  const empty = t.testdir({});
  // No dmsetup, losetup or dmesg on PATH (and, unless root, no root): it stops before touching anything.
  const r = await execa(process.execPath, [path.join(root, 'dist/dmsetup-ts/main.js'), 'conformance', '--real', path.join(root, 'fixtures/conformance/scenarios/201-cli-devices-and-errors.sh')],
    { env: { PATH: empty }, extendEnv: false, reject: false });
  t.equal(r.exitCode, 1);
  t.match(r.stdout, /^TAP version 14\n1\.\.1\nBail out! --real needs (root|the machine's dmsetup on PATH)/);
  t.equal(r.stderr, '');
});
