// `dmsetup-ts nbd`: the URI of a device of the kernel process, its errors,
// and the kernel process's NBD socket surviving bad input (no client binaries needed).

import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandbox } from '../helpers/cli.js';
import { RawNbdClient } from '../helpers/nbd-client.js';

t.test('dmsetup-ts nbd NAME, --tcp, errors; the kernel process serves NBD and survives garbage', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  const f = path.join(sb.dir, 'd0');
  fs.writeFileSync(f, '');
  fs.truncateSync(f, 4 << 20);
  t.equal((await sb.run('losetup', ['/dev/loop0', f])).exitCode, 0);
  t.equal((await sb.dmsetup(['create', 'lin', '--table', '0 8192 linear /dev/loop0 0'])).exitCode, 0);
  t.equal((await sb.dmsetup(['create', 'empty', '--notable'])).exitCode, 0);
  const sock = path.join(sb.env.DMSETUP_TS_DIR, 'nbd.sock');

  const uri = await sb.run('dmsetup-ts', ['nbd', 'lin']);
  t.same([uri.exitCode, uri.stdout], [0, `nbd+unix:///lin?socket=${sock}\n`]);
  const tcp = await sb.run('dmsetup-ts', ['nbd', '--tcp=0', 'lin']);
  t.match(tcp.stdout, /^nbd:\/\/127\.0\.0\.1:\d+\/lin\n$/);
  const port = Number(/:(\d+)\//.exec(tcp.stdout)![1]);
  const again = await sb.run('dmsetup-ts', ['nbd', 'lin', '--tcp', '0']);
  t.equal(again.stdout, tcp.stdout, 'one TCP port per kernel');
  for (const [args, err] of [
    [['nosuch'], 'dmsetup-ts nbd: nosuch: No such device\n'],
    [['empty'], 'dmsetup-ts nbd: empty: the device has no table\n'],
    [[], 'Usage: dmsetup-ts nbd DEVICE [--tcp PORT]\n'],
    [['lin', '--tcp', 'x'], 'Usage: dmsetup-ts nbd DEVICE [--tcp PORT]\n'],
    [['a', 'b'], 'Usage: dmsetup-ts nbd DEVICE [--tcp PORT]\n'],
  ] as const) {
    const r = await sb.run('dmsetup-ts', ['nbd', ...args]);
    t.same([r.exitCode, r.stderr], [1, err], `nbd ${args.join(' ')}`);
  }

  for (const where of [sock, port]) {
    const c = await RawNbdClient.connect(where);
    await c.hello();
    c.sendOpt(7, RawNbdClient.goData('lin'));
    const go = await c.optReplies();
    t.equal(go.at(-1)!.type, 1, `GO over ${typeof where === 'number' ? 'TCP' : 'the Unix socket'}`);
    c.request(1, 0, 512, { data: Buffer.alloc(512, 0x61) });
    t.equal((await c.simpleReply())!.errno, 0);
    const info = await sb.dmsetup(['info', 'lin']);
    t.match(info.stdout, /Open count: +1\n/, 'the connection holds the device open');
    c.request(0, 8192 * 512, 512);
    t.equal((await c.simpleReply())!.errno, 22, 'past the end: EINVAL');
    c.request(0, 0, 512, { magic: 0x12345678 });
    t.ok(await c.closedWithin(3000), 'a bad magic: closed');
  }
  t.ok(fs.readFileSync(f).subarray(0, 512).every((b) => b === 0x61), 'the write reached the file');
  const g = await RawNbdClient.connect(sock);
  g.write(Buffer.alloc(100000, 0xff));
  t.ok(await g.closedWithin(3000), 'garbage: closed');
  const st = await sb.dmsetup(['info', 'lin']);
  t.match(st.stdout, /Open count: +0\n/, 'closed connections close the device; the kernel process is alive');
});
