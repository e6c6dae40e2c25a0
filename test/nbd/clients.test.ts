// Real NBD clients against devices of the kernel process (`dmsetup-ts nbd`):
// nbdinfo, nbdsh, nbdcopy (libnbd), qemu-img and qemu-io, fio's nbd engine
// with verify, and a filesystem image written to a mirror while one leg
// fails, checked with e2fsck read back from the surviving leg.

import t, { type Test } from 'tap';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { sandbox, type Sandbox } from '../helpers/cli.js';
import { RawNbdClient } from '../helpers/nbd-client.js';

const MiB = 2 ** 20;
/** Debian's python3 first: nbdsh needs its libnbd module. */
const PATH = `/usr/bin:/bin:/usr/sbin:/sbin:${process.env.PATH ?? ''}`;

function have(bin: string): boolean {
  return PATH.split(':').some((d) => { try { fs.accessSync(path.join(d, bin), fs.constants.X_OK); return true; } catch { return false; } });
}

/** The skip reason when a client is missing (.ci/run installs them all). */
function needs(...bins: string[]): string | false {
  const missing = bins.filter((b) => !have(b));
  return missing.length ? `not installed: ${missing.join(', ')} (Debian: libnbd-bin python3-libnbd qemu-utils fio e2fsprogs)` : false;
}

async function sh(cmd: string, args: string[], opts: { timeout?: number } = {}) {
  const r = await execa(cmd, args, { reject: false, all: true, env: { PATH, LC_ALL: 'C' }, timeout: opts.timeout ?? 120_000 });
  return { code: r.exitCode ?? -1, out: String(r.stdout), all: String(r.all) };
}

async function ok(t: Tap, sb: Sandbox, prog: string, args: string[]): Promise<string> {
  const r = await sb.run(prog, args);
  t.equal(r.exitCode, 0, `${prog} ${args.join(' ')}${r.exitCode ? `: ${r.all}` : ''}`);
  return r.stdout;
}
type Tap = Pick<Test, 'equal'>;

/** Sparse files as /dev/loop0.. */
async function disks(t: Tap, sb: Sandbox, n: number, bytes: number): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = path.join(sb.dir, `leg${i}`);
    fs.writeFileSync(f, '');
    fs.truncateSync(f, bytes);
    await ok(t, sb, 'losetup', [`/dev/loop${i}`, f]);
    files.push(f);
  }
  return files;
}

/** Resolves once some byte of the file is not zero (a client's writes have reached it), or after 30 s. */
async function written(file: string): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const b = fs.readFileSync(file);
    if (!b.equals(Buffer.alloc(b.length))) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

async function waitInSync(sb: Sandbox, name: string): Promise<void> {
  for (;;) {
    const m = / (\d+)\/(\d+) /.exec((await sb.dmsetup(['status', name])).stdout);
    if (m && m[1] === m[2]) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('nbdinfo, nbdsh, qemu-img and qemu-io on a mirror; dmsetup-ts nbd', { skip: needs('nbdinfo', 'nbdsh', 'qemu-img', 'qemu-io') }, async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  const legs = await disks(t, sb, 2, 32 * MiB);
  await ok(t, sb, 'dmsetup', ['create', 'm', '--table', '0 65536 mirror core 2 1024 nosync 2 /dev/loop0 0 /dev/loop1 0']);
  const uri = (await ok(t, sb, 'dmsetup-ts', ['nbd', 'm'])).trim();
  t.equal(uri, `nbd+unix:///m?socket=${path.join(sb.env.DMSETUP_TS_DIR, 'nbd.sock')}`, 'the URI names the device and the runtime directory\'s socket');
  const missing = await sb.run('dmsetup-ts', ['nbd', 'nosuch']);
  t.same([missing.exitCode, missing.stderr], [1, 'dmsetup-ts nbd: nosuch: No such device\n']);

  const info = await sh('nbdinfo', ['--json', uri]);
  t.equal(info.code, 0, info.all);
  const e = (JSON.parse(info.out) as { exports: Array<Record<string, unknown>> }).exports[0]!;
  t.match(e, { 'export-name': 'm', 'export-size': 32 * MiB, is_read_only: false, can_flush: true, can_fua: true, can_trim: true, can_zero: true, block_size_minimum: 512, block_size_maximum: 32 * MiB }, 'nbdinfo --json');
  const list = await sh('nbdinfo', ['--list', uri]);
  t.match(list.out, /export="m"/, 'nbdinfo --list');

  const py = [
    'import os',
    'd = os.urandom(65536)',
    'h.pwrite(d, 1048576)',
    'assert h.pread(65536, 1048576) == d',
    'h.flush()',
    'h.pwrite(d[:4096], 0, nbd.CMD_FLAG_FUA)',
    'h.zero(4096, 1048576)',
    'assert h.pread(4096, 1048576) == bytes(4096)',
    'h.trim(65536, 2097152)',
    'assert h.get_size() == 33554432',
    'try:',
    '    h.pread(1024, 33554432 - 512)',
    '    raise SystemExit("a read past the end succeeded")',
    'except nbd.Error as ex:',
    '    print("past the end:", ex.errno)',
    'open(os.environ.get("OUT", "/dev/null"), "wb").write(d)',
  ].join('\n');
  const out = path.join(sb.dir, 'py.out');
  const r = await execa('nbdsh', ['-u', uri, '-c', py], { reject: false, all: true, env: { PATH, OUT: out } });
  t.equal(r.exitCode, 0, `nbdsh: ${r.all}`);
  t.match(String(r.stdout), /past the end: EINVAL/, 'libnbd sees EINVAL for a read past the end');
  const d = fs.readFileSync(out);
  for (const leg of legs) {
    const b = fs.readFileSync(leg);
    t.ok(b.subarray(1048576 + 4096, 1048576 + 65536).equals(d.subarray(4096)), `${path.basename(leg)}: nbdsh's write`);
    t.ok(b.subarray(1048576, 1048576 + 4096).every((x) => x === 0), `${path.basename(leg)}: the zeroed page`);
  }

  const qi = await sh('qemu-img', ['info', uri]);
  t.match(qi.out, /virtual size: 32 MiB \(33554432 bytes\)/, 'qemu-img info');
  const src = path.join(sb.dir, 'src.raw');
  fs.writeFileSync(src, crypto.randomBytes(8 * MiB));
  const conv = await sh('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', src, uri]);
  t.equal(conv.code, 0, `qemu-img convert: ${conv.all}`);
  const back = path.join(sb.dir, 'back.raw');
  const conv2 = await sh('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', uri, back]);
  t.equal(conv2.code, 0, `qemu-img convert back: ${conv2.all}`);
  t.ok(fs.readFileSync(back).subarray(0, 8 * MiB).equals(fs.readFileSync(src)), 'qemu-img convert there and back');
  t.ok(fs.readFileSync(legs[1]!).subarray(0, 8 * MiB).equals(fs.readFileSync(src)), 'the second leg holds the image');

  const qio = await sh('qemu-io', ['-f', 'raw', '-c', 'write -P 0xab 1M 64k', '-c', 'read -P 0xab 1M 64k', '-c', 'flush', uri]);
  t.equal(qio.code, 0, qio.all);
  t.match(qio.out, /wrote 65536\/65536 bytes at offset 1048576[\s\S]*read 65536\/65536 bytes at offset 1048576/, 'qemu-io write, read -P, flush');
  t.notMatch(qio.out, /Pattern verification failed/);

  const tcp = (await ok(t, sb, 'dmsetup-ts', ['nbd', 'm', '--tcp', '0'])).trim();
  t.match(tcp, /^nbd:\/\/127\.0\.0\.1:\d+\/m$/, 'nbd --tcp 0: a URI on 127.0.0.1');
  const ti = await sh('nbdinfo', ['--size', tcp]);
  t.same([ti.code, ti.out], [0, '33554432'], 'nbdinfo over TCP');

  // Garbage on the socket: that connection closes, the kernel process carries on.
  const raw = await RawNbdClient.connect(path.join(sb.env.DMSETUP_TS_DIR, 'nbd.sock'));
  await raw.read(18);
  raw.write(Buffer.alloc(4096, 0xff));
  t.ok(await raw.closedWithin(3000), 'garbage: the connection closes');
  const st = await sb.dmsetup(['status', 'm']);
  t.equal(st.exitCode, 0, 'the kernel process still serves dmsetup');
  t.equal((await sh('nbdinfo', ['--size', uri])).out, '33554432', 'and NBD');
});

t.test('nbdcopy a filesystem image to a mirror while a leg fails; e2fsck from the surviving leg', { skip: needs('nbdcopy', 'mkfs.ext4', 'e2fsck') }, async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  const SIZE = 32 * MiB;
  const legs = await disks(t, sb, 2, SIZE);
  // The image: an ext4 filesystem holding 20 MiB of files.
  const tree = path.join(sb.dir, 'tree');
  fs.mkdirSync(tree);
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(tree, `f${i}`), crypto.randomBytes(MiB));
  const img = path.join(sb.dir, 'fs.img');
  const mk = await sh('mkfs.ext4', ['-q', '-F', '-d', tree, img, '32M']);
  t.equal(mk.code, 0, mk.all);
  // Leg 1 is a device of its own, slow (10 ms a write) so the copy takes a while.
  await ok(t, sb, 'dmsetup', ['create', 'leg1', '--table', `0 ${SIZE / 512} delay /dev/loop1 0 0 /dev/loop1 0 10`]);
  await ok(t, sb, 'dmsetup', ['create', 'm', '--table', `0 ${SIZE / 512} mirror core 1 1024 2 /dev/loop0 0 /dev/mapper/leg1 0`]);
  await waitInSync(sb, 'm');
  const uri = (await ok(t, sb, 'dmsetup-ts', ['nbd', 'm'])).trim();

  const copy = execa('nbdcopy', ['-C', '1', '-R', '1', '--request-size=131072', img, uri], { reject: false, all: true, env: { PATH } });
  let copyDone = false;
  void copy.then(() => { copyDone = true; });
  t.ok(await written(legs[1]!), 'the copy has reached the second leg');
  t.notOk(copyDone, 'the copy is still running when the leg fails');
  // The leg fails: its table becomes error, as a dead disk would.
  await ok(t, sb, 'dmsetup', ['suspend', 'leg1']);
  await ok(t, sb, 'dmsetup', ['load', 'leg1', '--table', `0 ${SIZE / 512} error`]);
  await ok(t, sb, 'dmsetup', ['resume', 'leg1']);
  const c = await copy;
  t.equal(c.exitCode, 0, `nbdcopy finished without error: ${String(c.all)}`);
  const st = (await sb.dmsetup(['status', 'm'])).stdout;
  t.match(st, / 2 \d+:\d+ \d+:\d+ \d+\/\d+ 1 AD /, `the mirror marks the second leg dead: ${st.trim()}`);

  // Read the image back through NBD from the surviving leg alone.
  await ok(t, sb, 'dmsetup', ['remove', 'm']);
  await ok(t, sb, 'dmsetup', ['create', 'survivor', '--table', `0 ${SIZE / 512} linear /dev/loop0 0`]);
  const back = path.join(sb.dir, 'back.img');
  const rd = await sh('nbdcopy', [(await ok(t, sb, 'dmsetup-ts', ['nbd', 'survivor'])).trim(), back]);
  t.equal(rd.code, 0, rd.all);
  t.ok(fs.readFileSync(back).equals(fs.readFileSync(img)), 'the surviving leg holds the image byte for byte');
  const fsck = await sh('e2fsck', ['-fn', back]);
  t.equal(fsck.code, 0, `e2fsck -fn: ${fsck.all}`);
  t.match(fsck.out, /: 31\/\d+ files/, 'e2fsck counts the 20 files (and the 11 reserved inodes)');
});

t.test('fio (nbd engine) with verify on a mirror while a leg fails', { skip: needs('fio') }, async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  const SIZE = 32 * MiB;
  const legs = await disks(t, sb, 2, SIZE);
  await ok(t, sb, 'dmsetup', ['create', 'leg1', '--table', `0 ${SIZE / 512} delay /dev/loop1 0 0 /dev/loop1 0 2`]);
  await ok(t, sb, 'dmsetup', ['create', 'm', '--table', `0 ${SIZE / 512} mirror core 2 1024 nosync 2 /dev/loop0 0 /dev/mapper/leg1 0`]);
  const uri = (await ok(t, sb, 'dmsetup-ts', ['nbd', 'm'])).trim();
  const fio = execa('fio', ['--name=verify', '--ioengine=nbd', `--uri=${uri}`, '--rw=randwrite', '--bs=4k', '--size=8m',
    '--iodepth=4', '--verify=crc32c', '--verify_fatal=1', '--do_verify=1', '--randrepeat=1', '--output-format=json'],
    { reject: false, all: true, env: { PATH }, cwd: sb.dir }); // fio writes its verify state file into its cwd
  let done = false;
  void fio.then(() => { done = true; });
  t.ok(await written(legs[1]!), 'fio\'s writes have reached the second leg');
  t.notOk(done, 'fio is still writing when the leg fails');
  await ok(t, sb, 'dmsetup', ['suspend', 'leg1']);
  await ok(t, sb, 'dmsetup', ['load', 'leg1', '--table', `0 ${SIZE / 512} error`]);
  await ok(t, sb, 'dmsetup', ['resume', 'leg1']);
  const r = await fio;
  t.equal(r.exitCode, 0, `fio: ${r.exitCode ? String(r.all) : 'ok'}`);
  const json = String(r.stdout);
  const job = (JSON.parse(json.slice(json.indexOf('{'))) as { jobs: Array<{ error: number; write: { io_bytes: number }; read: { io_bytes: number } }> }).jobs[0]!;
  t.equal(job.error, 0, 'no I/O or verify error');
  t.equal(job.write.io_bytes, 8 * MiB, 'fio wrote 8 MiB');
  t.equal(job.read.io_bytes, 8 * MiB, 'and read all of it back, verified');
  t.match((await sb.dmsetup(['status', 'm'])).stdout, / AD /, 'the second leg is marked dead');
});
