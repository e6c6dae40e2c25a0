// The socket framing: frames survive any split into chunks, payloads large and small.

import t from 'tap';
import { encodeFrame, FrameReader } from '../../kernel/protocol.js';

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
