// GNU getopt_long as dmsetup uses it.

import t from 'tap';
import { getoptLong, atoi } from '../dmsetup-ts/getopt.js';

const LONG = [{ name: 'table', hasArg: true }, { name: 'target', hasArg: true }, { name: 'tree', hasArg: false }, { name: 'noflush', hasArg: false }];

t.test('options anywhere, abbreviations, = and separate values, --', async (t) => {
  const r = getoptLong('dmsetup', ['create', 'foo', '--tab', '0 8 zero', '-vv', 'x', '--tar=linear', '--', '--tree'], 'vo:', LONG);
  t.equal(r.error, undefined);
  t.same(r.args, ['create', 'foo', 'x', '--tree']);
  t.same(r.options, [{ key: 'table', value: '0 8 zero' }, { key: 'v' }, { key: 'v' }, { key: 'target', value: 'linear' }]);
  t.same(getoptLong('dmsetup', ['-ofoo'], 'vo:', LONG).options, [{ key: 'o', value: 'foo' }]);
});

t.test("glibc's messages", async (t) => {
  t.equal(getoptLong('dmsetup', ['--ta'], '', LONG).error, "dmsetup: option '--ta' is ambiguous; possibilities: '--table' '--target'\n");
  t.equal(getoptLong('dmsetup', ['--tree=1'], '', LONG).error, "dmsetup: option '--tree' doesn't allow an argument\n");
  t.equal(getoptLong('dmsetup', ['--table'], '', LONG).error, "dmsetup: option '--table' requires an argument\n");
  t.equal(getoptLong('dmsetup', ['-x'], 'v', LONG).error, "dmsetup: invalid option -- 'x'\n");
  t.equal(getoptLong('dmsetup', ['-o'], 'o:', LONG).error, "dmsetup: option requires an argument -- 'o'\n");
  t.equal(getoptLong('dmsetup', ['--bogus=3'], '', LONG).error, "dmsetup: unrecognized option '--bogus=3'\n"); // glibc 2.36 on the oracle: the whole word
});

t.test('atoi', async (t) => {
  t.equal(atoi(' 42x'), 42);
  t.equal(atoi('-3'), -3);
  t.equal(atoi('x'), 0);
});
