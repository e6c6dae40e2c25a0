// The table grammar: dm_split_args, libdm's _parse_line, the strict number readers.

import t from 'tap';
import { splitArgs } from '../tables/split.js';
import { parseTable, parseLine } from '../tables/parse.js';
import { kstrtouint, kstrtoull, sscanfInt, sscanfU32, sscanfU64 } from '../tables/args.js';

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
  t.same(parseLine('0 8 zero'), { start: 0n, length: 8n, type: 'zero', params: '' });
  t.same(parseLine('0 8192 linear /dev/loop0 2048  '), { start: 0n, length: 8192n, type: 'linear', params: '/dev/loop0 2048' });
  t.same(parseLine('0 8 linear /dev/loop0 0 # inline'), { start: 0n, length: 8n, type: 'linear', params: '/dev/loop0 0 ' });
  t.equal(parseLine('zero 0 8'), 'invalid');
  t.equal(parseLine('0 8'), 'invalid');
});

t.test('tables from --table, files and stdin name their source in errors', async (t) => {
  t.same(parseTable('0 1024 zero\n1024 1024 error', ''), { targets: [
    { start: 0n, length: 1024n, type: 'zero', params: '' }, { start: 1024n, length: 1024n, type: 'error', params: '' }] });
  t.same(parseTable('# c\n0 8 zero\n\n', 't1'), { targets: [{ start: 0n, length: 8n, type: 'zero', params: '' }] });
  t.same(parseTable('0 8 zero\nbad line\n', ''), { error: 'Invalid format on line 2 of table .' });
  t.same(parseTable('bad\n', 'on stdin'), { error: 'Invalid format on line 1 of table on stdin.' });
  t.same(parseTable('0 8 averyveryverylongname\n', ''), { error: 'Target type name averyveryverylongname is too long.' });
});

t.test("_parse_line reads START and LENGTH as glibc's %llu: exact to 2^64-1, saturating, '-' wraps", async (t) => {
  t.same(parseLine('9007199254740993 18446744073709551615 zero'), { start: 9007199254740993n, length: 18446744073709551615n, type: 'zero', params: '' });
  t.same(parseLine('0 18446744073709551616 zero'), { start: 0n, length: 18446744073709551615n, type: 'zero', params: '' }, 'past 64 bits: ULLONG_MAX');
  t.same(parseLine('0 -1024 zero'), { start: 0n, length: 18446744073709550592n, type: 'zero', params: '' });
  t.same(parseLine('+0 +8 zero'), { start: 0n, length: 8n, type: 'zero', params: '' });
});

t.test("sscanf %u%c / %llu%c / %d%c as lib/vsprintf.c reads them", async (t) => {
  t.equal(sscanfU32('1024'), 1024);
  t.equal(sscanfU32('4294967295'), 4294967295);
  t.equal(sscanfU32('4294967296'), 0, 'wraps modulo 2^32, as the oracle shows for flakey and delay');
  t.equal(sscanfU32('4294968320'), 1024, 'a mirror region size of 1024 (scenario 022)');
  t.equal(sscanfU32('18446744073709552640'), 1024, 'digits accumulate modulo 2^64 first');
  t.equal(sscanfU32('00017'), 17);
  t.equal(sscanfU32(' \t7'), 7, 'leading white space is skipped');
  t.equal(sscanfU32('7 '), undefined, '%c finds the trailing space');
  t.equal(sscanfU32('12x'), undefined);
  t.equal(sscanfU32('+1'), undefined, '%u takes no sign');
  t.equal(sscanfU32('-1'), undefined);
  t.equal(sscanfU32('0x10'), undefined);
  t.equal(sscanfU32(''), undefined);
  t.equal(sscanfU32(undefined), undefined);
  t.equal(sscanfU64('2048'), 2048n);
  t.equal(sscanfU64('18446744073709551615'), 18446744073709551615n);
  t.equal(sscanfU64('18446744073709551616'), 0n, 'wraps modulo 2^64 (scenario 022)');
  t.equal(sscanfU64('9007199254740993'), 9007199254740993n, 'exact past 2^53');
  t.equal(sscanfU64('+0'), undefined);
  t.equal(sscanfU64('x'), undefined);
  t.equal(sscanfInt('-5'), -5, '%d takes a minus');
  t.equal(sscanfInt('+5'), undefined, 'but no plus');
  t.equal(sscanfInt('2147483648'), -2147483648, 'stored into an int');
  t.equal(sscanfInt('-'), undefined);
});

t.test('kstrtouint / kstrtoull: a plus, a trailing newline, no overflow', async (t) => {
  t.equal(kstrtouint('+3'), 3);
  t.equal(kstrtouint('3\n'), 3);
  t.equal(kstrtouint(' 3'), undefined);
  t.equal(kstrtouint('-3'), undefined);
  t.equal(kstrtouint('4294967296'), undefined, '-ERANGE');
  t.equal(kstrtoull('18446744073709551615'), 18446744073709551615n);
  t.equal(kstrtoull('18446744073709551616'), undefined);
});
