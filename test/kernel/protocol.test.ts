// The socket framing: frames survive any split into chunks, payloads large and small; big lists packed as tables.

import t from 'tap';
import { encodeFrame, FrameReader, isPacked, packRecords, unpackRecords, type PackedRecords } from '../../kernel/protocol.js';

t.test('frames reassemble from chunks of any size', async (t) => {
  const big = Buffer.alloc(3 << 20, 7);
  const stream = Buffer.concat([encodeFrame({ op: 'a' }, big), encodeFrame({ op: 'b' }), encodeFrame({ op: 'c' }, Buffer.from('xy'))]);
  for (const size of [1, 7, 4096, 65536, stream.length]) {
    const reader = new FrameReader<{ op: string }>();
    const frames = [];
    for (let i = 0; i < stream.length; i += size) frames.push(...reader.push(stream.subarray(i, i + size)));
    t.same(frames.map((f) => [f.head.op, f.payload?.length ?? 0]), [['a', big.length], ['b', 0], ['c', 2]], `chunks of ${size}`);
    t.ok(frames[0]!.payload!.equals(big));
  }
});

t.test('a header with a bigint and one without encode as before', async (t) => {
  const plain = { ok: true, result: [{ name: 'a', minor: 0 }] };
  t.equal(encodeFrame(plain).toString('utf8', 4, encodeFrame(plain).length - 4), JSON.stringify(plain));
  const [f] = new FrameReader<{ n: bigint }>().push(encodeFrame({ n: 2n ** 64n - 1n }));
  t.equal(f!.head.n, 2n ** 64n - 1n);
  t.throws(() => { const o: Record<string, unknown> = {}; o.self = o; encodeFrame(o); }, TypeError, 'a cycle is still refused');
});

t.test('packed records read back as the plain list would', async (t) => {
  const list = [{ name: 'a', uuid: '', major: 254, minor: 0, ok: true }, 'ENXIO', { name: 'b\\x20', uuid: 'u', major: 254, minor: 1, ok: false }];
  const packed = packRecords(list)!;
  t.same(packed.keys, ['name', 'uuid', 'major', 'minor', 'ok']);
  t.ok(JSON.stringify(packed).length < JSON.stringify(list).length);
  const back = unpackRecords(JSON.parse(JSON.stringify(packed)) as PackedRecords);
  t.equal(JSON.stringify(back), JSON.stringify(list), 'same JSON, keys in the same order');
  t.ok(isPacked(packed));
  t.notOk(isPacked(list));
  t.same(unpackRecords(packRecords(['EBUSY'])!), ['EBUSY'], 'errnos only');
  t.same(unpackRecords(packRecords([])!), []);
  t.equal(packRecords([{ a: 1 }, { b: 1 }]), null, 'other keys: sent plain');
  t.equal(packRecords([{ a: 1, b: 2 }, { b: 2, a: 1 }]), null, 'keys in another order: sent plain');
  t.equal(packRecords([{ a: 1 }, { a: 1, b: 2 }]), null, 'more keys: sent plain');
  t.equal(packRecords([{ a: 1, b: 2 }, { a: 1 }]), null, 'fewer keys: sent plain');
  t.equal(packRecords([{ a: undefined }]), null, 'undefined (dropped by plain JSON): sent plain');
});
