// A client sending malformed frames gets errors, and the kernel process and
// the devices another client created come through (issue 13, item 1).

import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { encodeFrame, FrameReader, type Response } from '../../kernel/protocol.js';
import { ARGS, checkRequest } from '../../kernel/rpc-args.js';
import { OPS } from '../../kernel/rpc.js';
import { KernelError } from '../../kernel/errno.js';
import { sandbox } from '../helpers/cli.js';

/** Send raw bytes on one connection; collect n replies (or fewer if the kernel closes it). */
function rawExchange(sockPath: string, bytes: Buffer, n: number): Promise<Response[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect(sockPath);
    const reader = new FrameReader<Response>();
    const got: Response[] = [];
    const t = setTimeout(() => { s.destroy(); reject(new Error(`only ${got.length} of ${n} replies`)); }, 20_000);
    s.on('connect', () => {
      s.write(bytes);
      if (n === 0) setTimeout(() => s.destroy(), 50); // an abrupt end: no answer awaited
    });
    s.on('data', (c) => {
      for (const f of reader.push(c)) got.push(f.head);
      if (got.length >= n) { clearTimeout(t); s.destroy(); resolve(got); }
    });
    s.on('close', () => { clearTimeout(t); resolve(got); });
    s.on('error', () => undefined);
  });
}

/** The errno checkRequest refuses a head with, or null. */
function errnoOf(head: unknown): string | null {
  try {
    checkRequest(head);
    return null;
  } catch (e) {
    return e instanceof KernelError ? e.errno : String(e);
  }
}

function raw(head: string): Buffer {
  const j = Buffer.from(head);
  const a = Buffer.alloc(4); a.writeUInt32BE(j.length);
  return Buffer.concat([a, j, Buffer.alloc(4)]);
}

t.test('every operation has a schema and every schema an operation', async (t) => {
  t.same([...ARGS.keys()].filter((op) => op !== 'stop').sort(), [...OPS.keys()].sort());
  for (const op of ['__proto__', 'hasOwnProperty', 'toString', 'constructor', 'valueOf']) {
    t.equal(OPS.get(op), undefined, `${op} is no operation`);
    t.equal(errnoOf({ op }), 'ENOSYS', `${op}: ENOSYS`);
  }
  const einval = (head: unknown) => errnoOf(head) === 'EINVAL';
  t.ok(einval(null), 'a null head');
  t.ok(einval([]), 'an array head');
  t.ok(einval({ op: 5 }), 'op not a string');
  t.ok(einval({ op: 'devCreate', args: { name: null } }), 'devCreate with name null');
  t.ok(einval({ op: 'devCreate', args: null }), 'args null');
  t.ok(einval({ op: 'devStatus', args: { ref: { name: 5 } } }), 'a name that is a number');
  t.ok(einval({ op: 'tableLoad', args: { ref: { name: 'a' }, targets: [{ start: 0, length: 8, type: 'zero', params: null }] } }), 'params null');
  t.ok(einval({ op: 'ioRead', args: { dev: 'a', sector: -1, count: 1 } }), 'a negative sector');
  t.same(checkRequest({ op: 'devCreate', args: { name: 'null' } }), { op: 'devCreate', args: { name: 'null' } }, 'the name "null" is a name');
});

t.test('malformed frames on the socket: errors for the sender, the devices of others intact', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  fs.writeFileSync(path.join(sb.dir, 'd0'), Buffer.alloc(1 << 20));
  t.equal((await sb.run('losetup', ['/dev/loop0', 'd0'])).exitCode, 0);
  t.equal((await sb.dmsetup(['create', 'a', '--table', '0 1024 linear /dev/loop0 16'])).exitCode, 0);
  const data = Buffer.alloc(1024 * 512);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
  t.equal((await sb.run('dmsetup-ts', ['io', 'write', 'a', '0', '--bs', '65536'], { input: data })).exitCode, 0);

  const sockPath = path.join(sb.env.DMSETUP_TS_DIR, 'kernel.sock');
  const frames = [
    'null', '[]', '5', '"ping"', '{}', '{"op":null}', '{"op":"__proto__"}', '{"op":"hasOwnProperty"}', '{"op":"toString"}',
    '{"op":"constructor","args":{}}', '{"op":"devCreate","args":{"name":null}}', '{"op":"devCreate","args":null}',
    '{"op":"devRemove","args":{"ref":null}}', '{"op":"tableLoad","args":{"ref":{"name":"a"},"targets":null}}',
    '{"op":"devCreate"', 'not json at all', '{"op":"devCreate","args":{"name":{"$u64":"zz"}}}',
  ];
  const replies = await rawExchange(sockPath, Buffer.concat([...frames.map(raw), encodeFrame({ op: 'ping' })]), frames.length + 1);
  t.equal(replies.length, frames.length + 1, 'every frame was answered on the same connection');
  for (const [i, f] of frames.entries()) {
    t.equal(replies[i]?.ok, false, `refused: ${f}`);
    t.match(replies[i]?.errno, /^(EINVAL|ENOSYS)$/, `with EINVAL or ENOSYS: ${f}`);
  }
  t.equal(replies[frames.length]?.ok, true, 'a ping after them is served');
  // An abrupt end in the middle of a frame, and a length prefix alone.
  await rawExchange(sockPath, raw('{"op":"ping"}').subarray(0, 9), 0);
  await rawExchange(sockPath, Buffer.from([0xff, 0xff]), 0);

  const ls = await sb.dmsetup(['ls']);
  t.equal(ls.exitCode, 0, 'the kernel process is alive');
  t.notMatch(ls.stdout, /null/, 'no device called "null"');
  t.equal((await sb.dmsetup(['table', 'a'])).stdout, '0 1024 linear 7:0 16\n', "the other client's table");
  const back = await sb.run('dmsetup-ts', ['io', 'read', 'a', '0', '1024', '--bs', '65536'], { encoding: 'latin1' });
  t.ok(Buffer.from(back.stdout, 'latin1').equals(data), "the other client's data, read through its device");
  const dmesg = (await sb.run('dmesg', [])).stdout;
  t.notMatch(dmesg, /internal error/, 'no internal error logged');
});
