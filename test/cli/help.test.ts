// Every command of our own prints its usage for -h and --help and exits 0;
// `dmsetup-ts help` lists them after dmsetup's usage (as dmsetup, help stays dmsetup's).

import t from 'tap';
import { sandbox } from '../helpers/cli.js';
import { OWN_COMMANDS } from '../../dmsetup-ts/own-commands.js';

t.test('own commands: -h and --help', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  for (const name of Object.keys(OWN_COMMANDS)) {
    for (const flag of ['-h', '--help']) {
      const r = await sb.run('dmsetup-ts', [name, flag]);
      t.equal(r.exitCode, 0, `${name} ${flag} exits 0`);
      t.match(r.stdout, name === 'losetup' || name === 'blockdev' ? new RegExp(`^\\nUsage:\\n ${name} `) : new RegExp(`^(Usage: )?dmsetup-ts ${name} `), `${name} ${flag} prints its usage`);
      t.equal(r.stderr, '', `${name} ${flag}: nothing on stderr`);
    }
  }
  // Also after other arguments, and for verbs of commands with verbs.
  for (const args of [['cluster', 'up', '--help'], ['io', 'write', 'm', '-h'], ['kernel', 'stop', '--help'], ['wait-sync', 'm', '--help']]) {
    const r = await sb.run('dmsetup-ts', args);
    t.equal(r.exitCode, 0, args.join(' '));
    t.match(r.stdout, /usage/i, args.join(' '));
  }
  for (const [name, c] of Object.entries(OWN_COMMANDS)) {
    if (!c.ownHelp) t.match((await c.load()).usage ?? '', new RegExp(`^Usage: dmsetup-ts ${name} .*\n.`, 's'), `${name} has a usage of its own, more than one line`);
  }
  const k = await sb.run('dmsetup-ts', ['kernel', 'status']);
  t.equal(k.exitCode, 3, 'no help request started a kernel');
});

t.test('dmsetup-ts help lists our own commands after dmsetup usage', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  const own = await sb.run('dmsetup-ts', ['help']);
  t.equal(own.exitCode, 0);
  const dm = await sb.dmsetup(['help']);
  t.equal(dm.exitCode, 0);
  t.ok(own.stderr.startsWith(dm.stderr), "dmsetup's usage first");
  const extra = own.stderr.slice(dm.stderr.length);
  for (const name of Object.keys(OWN_COMMANDS)) t.match(extra, new RegExp(`^\\t${name} `, 'm'), `lists ${name}`);
  t.notMatch(dm.stderr, /own commands/, 'as dmsetup, help is only dmsetup\'s');
});
