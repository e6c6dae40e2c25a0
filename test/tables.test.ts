// The table grammar: dm_split_args, libdm's _parse_line, the strict number readers.

import t from 'tap';
import { splitArgs } from '../tables/split.js';
import { parseTable, parseLine } from '../tables/parse.js';
import { parseU32, parseU64 } from '../tables/args.js';

t.test('dm_split_args: white space separates, backslash quotes the next character', async (t) => {
  t.same(splitArgs(''), []);
  t.same(splitArgs('   '), []);
  t.same(splitArgs('/dev/loop0 2048'), ['/dev/loop0', '2048']);
  t.same(splitArgs(' a \t b\n c '), ['a', 'b', 'c']);
  t.same(splitArgs('a\\ b c'), ['a b', 'c']);
  t.same(splitArgs('a\\\\ b'), ['a\\', 'b']);
  t.same(splitArgs('trailing\\'), ['trailing\\'], 'a final backslash stays');
});

t.test('_parse_line: START LENGTH TYPE PARAMS, comments, blank lines', async (t) => {
  t.equal(parseLine('   '), null);
  t.equal(parseLine('# comment'), null);
  t.equal(parseLine('  # indented comment'), null);
  t.same(parseLine('0 8 zero'), { start: 0, length: 8, type: 'zero', params: '' });
  t.same(parseLine('0 8192 linear /dev/loop0 2048  '), { start: 0, length: 8192, type: 'linear', params: '/dev/loop0 2048' });
  t.same(parseLine('0 8 linear /dev/loop0 0 # inline'), { start: 0, length: 8, type: 'linear', params: '/dev/loop0 0 ' });
  t.equal(parseLine('zero 0 8'), 'invalid');
  t.equal(parseLine('0 8'), 'invalid');
});

t.test('tables from --table, files and stdin name their source in errors', async (t) => {
  t.same(parseTable('0 1024 zero\n1024 1024 error', ''), { targets: [
    { start: 0, length: 1024, type: 'zero', params: '' }, { start: 1024, length: 1024, type: 'error', params: '' }] });
  t.same(parseTable('# c\n0 8 zero\n\n', 't1'), { targets: [{ start: 0, length: 8, type: 'zero', params: '' }] });
  t.same(parseTable('0 8 zero\nbad line\n', ''), { error: 'Invalid format on line 2 of table .' });
  t.same(parseTable('bad\n', 'on stdin'), { error: 'Invalid format on line 1 of table on stdin.' });
  t.same(parseTable('0 8 averyveryverylongname\n', ''), { error: 'Target type name averyveryverylongname is too long.' });
});

t.test('strict %u / %llu readers refuse trailing junk and signs', async (t) => {
  t.equal(parseU32('1024'), 1024);
  t.equal(parseU32('4294967295'), 4294967295);
  t.equal(parseU32('4294967296'), 0, 'wraps modulo 2^32, as the oracle shows for flakey and delay');
  t.equal(parseU32('12x'), undefined);
  t.equal(parseU32('-1'), undefined);
  t.equal(parseU32(''), undefined);
  t.equal(parseU64('2048'), 2048);
  t.equal(parseU64('x'), undefined);
});
