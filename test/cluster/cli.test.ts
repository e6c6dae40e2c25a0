// dmsetup-ts cluster from the command line: bad input, DMSETUP_TS_NODE
// without a cluster, the node lifecycle, and explore's replayable trace.

import t from 'tap';
import { sandbox } from '../helpers/cli.js';

t.test('bad input: one clear line and the usage, exit 1, no stack trace', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  for (const args of [['cluster'], ['cluster', 'up'], ['cluster', 'up', '0'], ['cluster', 'up', '2', '--patch', 'maybe'], ['cluster', 'up', '2', '--patch', 'nope=on'], ['cluster', 'up', '2', '--ordering', 'wrong'],
    ['cluster', 'explore', '--variants', '--patch', 'off'],
    ['cluster', 'explore', '--seeds', 'x'], ['cluster', 'crash'], ['cluster', 'frobnicate']]) {
    const r = await sb.run('dmsetup-ts', args);
    t.equal(r.exitCode, 1, args.join(' '));
    t.match(r.stderr, /^dmsetup-ts cluster: .+\nUsage: dmsetup-ts cluster up/, args.join(' '));
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

t.test('DMSETUP_TS_NODE without a cluster: a clear error, and no kernel is started', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  const r = await sb.dmsetup(['ls'], { env: { ...sb.env, DMSETUP_TS_PROG: 'dmsetup', DMSETUP_TS_NODE: '1' } });
  t.equal(r.exitCode, 1);
  t.match(r.stderr, 'node 1 is not running: start a cluster with `dmsetup-ts cluster up`');
  const k = await sb.run('dmsetup-ts', ['kernel', 'status']);
  t.equal(k.exitCode, 3, 'no single-node kernel was started');
  const bad = await sb.run('losetup', ['-a'], { env: { ...sb.env, DMSETUP_TS_PROG: 'losetup', DMSETUP_TS_NODE: 'one' } });
  t.match(bad.stderr, 'DMSETUP_TS_NODE=one: not a node number');
});

t.test('up, crash, restart, status, down', async (t) => {
  const sb = sandbox();
  t.teardown(async () => { await sb.run('dmsetup-ts', ['cluster', 'down']); await sb.stop(); });
  const up = await sb.run('dmsetup-ts', ['cluster', 'up', '2', '--seed', '7', '--patch=fail-mirror-sync-count=off']);
  t.equal(up.exitCode, 0, up.all);
  t.match(up.stdout, /2 nodes, seed 7, patches is-remote-recovering=on,fail-mirror-sync-count=off,in-sync-cleared-by-count=off/);
  t.equal((await sb.run('dmsetup-ts', ['cluster', 'up', '2'])).exitCode, 1, 'a second cluster is refused');
  const node = (n: string) => ({ env: { ...sb.env, DMSETUP_TS_PROG: 'dmsetup', DMSETUP_TS_NODE: n } });
  t.equal((await sb.dmsetup(['create', 'z', '--table', '0 8 zero'], node('2'))).exitCode, 0);
  t.match((await sb.dmsetup(['ls'], node('2'))).stdout, /^z\t/);
  t.match((await sb.dmsetup(['ls'], node('1'))).stdout, 'No devices found', 'each node has its own devices');
  t.equal((await sb.run('dmsetup-ts', ['cluster', 'crash', '2'])).exitCode, 0);
  t.match((await sb.dmsetup(['ls'], node('2'))).stderr, 'node 2 is not running');
  t.match((await sb.run('dmsetup-ts', ['cluster', 'status'])).stdout, /node 2: crashed \(boot 1\)/);
  t.equal((await sb.run('dmsetup-ts', ['cluster', 'restart', '2'])).exitCode, 0);
  t.match((await sb.dmsetup(['ls'], node('2'))).stdout, 'No devices found', 'a restart is a fresh kernel');
  t.match((await sb.run('dmsetup-ts', ['cluster', 'crash', '3'])).stderr, 'no node 3 (nodes are 1 to 2)');
  t.equal((await sb.run('dmsetup-ts', ['cluster', 'down'])).exitCode, 0);
  t.equal((await sb.run('dmsetup-ts', ['cluster', 'status'])).exitCode, 3);
});

t.test('explore: counts, the first violating schedule, and its replay', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  const r = await sb.run('dmsetup-ts', ['cluster', 'explore', '--seeds', '100', '--patch', 'off']);
  t.equal(r.exitCode, 2, 'a violating schedule found');
  const m = /first violating schedule, seed (\d+) \(replay: dmsetup-ts cluster explore (--from \d+ --seeds 1 --patch is-remote-recovering=off)\):\n([^]*)$/.exec(r.stdout);
  t.ok(m, r.stdout.slice(0, 400));
  const replay = await sb.run('dmsetup-ts', ['cluster', 'explore', ...m![2]!.split(' ')]);
  t.equal(replay.exitCode, 2);
  t.equal(replay.stdout.slice(replay.stdout.indexOf('first violating')).replace(/^[^\n]*\n/, ''), m![3], 'the replay prints the same trace');
  const on = await sb.run('dmsetup-ts', ['cluster', 'explore', '--seeds', '100']);
  t.equal(on.exitCode, 0, on.stdout.slice(0, 400));
  t.match(on.stdout, /violating schedules: 0\n  violating a data invariant: 0/);
});

t.test('explore --variants: counts for each variant on the same seeds', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  const r = await sb.run('dmsetup-ts', ['cluster', 'explore', '--seeds', '30', '--leg-failures', '--variants']);
  t.equal(r.exitCode, 2, 'some variant violates');
  const summary = r.stdout.slice(r.stdout.indexOf('violating schedules by variant, of 30 (leg failures):\n'));
  const row = (name: string) => new RegExp(`\\n  ${name.replace(/[()]/g, '\\$&')}: (\\d+) violating, \\d+ a data invariant \\([^)]*primary-switch-when-in-sync: (\\d+)\\)`).exec(summary);
  t.equal(row('patch on')?.[1], '0', summary);
  for (const v of ['(a) fail-mirror-sync-count', '(b) in-sync-cleared-by-count']) {
    t.ok(Number(row(v)?.[2]) > 0, `${v}: a node in sync keeps the failed primary`);
  }
  t.ok(row('patch off'), 'patch off reported');
});
