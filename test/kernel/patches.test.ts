// The kernel patch registry: its entries, a selection's parsing and
// defaults, a kernel's selection fixed at boot, `dmsetup-ts kernel patches`,
// and DMSETUP_TS_PATCHES reaching the kernel process.

import t from 'tap';
import { bootKernel } from '../../targets/modules.js';
import { mirrorHooks, parsePatches, PATCHES, PatchError, resolvePatches } from '../../targets/mirror/patches.js';
import { sandbox } from '../helpers/cli.js';

t.test('registry: every site names a hook its patch provides; the seed patch is on by default, the orderings off', async (t) => {
  for (const p of PATCHES) {
    t.ok(p.sites.length > 0, `${p.name} changes some site`);
    for (const s of p.sites) t.ok(p.hooks[s.hook], `${p.name}: ${s.at} has its hook ${s.hook}`);
  }
  t.same(resolvePatches(), { 'is-remote-recovering': true, 'fail-mirror-sync-count': false, 'in-sync-cleared-by-count': false });
});

t.test('selection: NAME=on|off, commas or blanks; unknown names and states refused', async (t) => {
  t.same(parsePatches('fail-mirror-sync-count=on, is-remote-recovering=off'), { 'fail-mirror-sync-count': true, 'is-remote-recovering': false });
  t.same(parsePatches(''), {});
  const refused = (fn: () => unknown, message: RegExp) => {
    try { fn(); t.fail(`accepted, expected ${message}`); } catch (e) { t.ok(e instanceof PatchError, String(e)); t.match((e as Error).message, message); }
  };
  refused(() => parsePatches('nope=on'), /^no kernel patch "nope" \(patches: is-remote-recovering, fail-mirror-sync-count, in-sync-cleared-by-count\)$/);
  refused(() => parsePatches('is-remote-recovering=maybe'), /NAME=on or NAME=off, not "is-remote-recovering=maybe"/);
  refused(() => parsePatches('is-remote-recovering'), /NAME=on or NAME=off/);
  refused(() => bootKernel({ patches: { nope: true } }), /no kernel patch "nope"/);
});

t.test('a kernel keeps the selection it booted with; the hooks follow it', async (t) => {
  const k = bootKernel({ virtualClock: true, patches: { 'is-remote-recovering': false, 'in-sync-cleared-by-count': true } });
  t.same(Object.fromEntries(k.patches), { 'is-remote-recovering': false, 'fail-mirror-sync-count': false, 'in-sync-cleared-by-count': true });
  const log = { isRemoteRecovering: () => 1 } as never;
  t.equal(mirrorHooks(k).isRemoteRecovering(log), undefined, 'without the seed patch do_writes sees no is_remote_recovering');
  t.type(mirrorHooks(bootKernel({ virtualClock: true })).isRemoteRecovering(log), 'function', 'with it, the log\'s own');
});

t.test('dmsetup-ts kernel patches: the registry with the running kernel\'s state; DMSETUP_TS_PATCHES reaches the kernel', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  const env = { ...sb.env, DMSETUP_TS_PATCHES: 'fail-mirror-sync-count=on' };
  const before = await sb.run('dmsetup-ts', ['kernel', 'patches'], { env });
  t.equal(before.exitCode, 0, before.all);
  t.match(before.stdout, /^kernel patches \(state: a kernel started now \(DMSETUP_TS_PATCHES=fail-mirror-sync-count=on\)\):\n/);
  t.match(before.stdout, /\nfail-mirror-sync-count +on +\(default off\) +ordering \(a\)/);
  t.match(before.stdout, /\n  drivers\/md\/dm-raid1\.c fail_mirror: /);
  t.equal((await sb.run('dmsetup', ['ls'], { env })).exitCode, 0, 'a kernel starts with it');
  const running = await sb.run('dmsetup-ts', ['kernel', 'patches']);
  t.match(running.stdout, /^kernel patches \(state: the running kernel\):\n/);
  t.match(running.stdout, /\nfail-mirror-sync-count +on /, 'the running kernel\'s selection, not this environment\'s');
  t.match(running.stdout, /\nis-remote-recovering +on +\(default on\)/);
  await sb.run('dmsetup-ts', ['kernel', 'stop']);
  const bad = await sb.run('dmsetup', ['ls'], { env: { ...sb.env, DMSETUP_TS_PATCHES: 'nope=on' } });
  t.equal(bad.exitCode, 1);
  t.match(bad.stderr, 'DMSETUP_TS_PATCHES: no kernel patch "nope"');
  t.notMatch(bad.stderr, /\n\s+at /, 'no stack trace');
});
