// Nobody else in: the kernel's sockets are owner-only whatever the umask, a
// connection is refused once the runtime directory or socket lets others in,
// another uid cannot reach the kernel under any directory mode, and an empty
// DMSETUP_TS_DIR is an error (issue 13, item 3).

import t, { type Test } from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { sandbox } from '../helpers/cli.js';

/** Started under umask 000: a kernel with a device, its runtime directory's parent open to everyone. */
async function kernelUnderUmask000(t: Test) {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  fs.chmodSync(sb.dir, 0o755); // the sandbox itself: others may look in
  const old = process.umask(0);
  try {
    t.equal((await sb.dmsetup(['create', 'z', '--table', '0 8 zero'])).exitCode, 0);
  } finally {
    process.umask(old);
  }
  const kdir = sb.env.DMSETUP_TS_DIR;
  return { sb, kdir, sock: path.join(kdir, 'kernel.sock'), nbd: path.join(kdir, 'nbd.sock') };
}

const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);

t.test('sockets are 0600 and the directory 0700 under umask 000', async (t) => {
  const { kdir, sock, nbd } = await kernelUnderUmask000(t);
  t.equal(mode(kdir), '700');
  t.equal(mode(sock), '600', 'kernel.sock');
  t.equal(mode(nbd), '600', 'nbd.sock');
});

t.test('an empty DMSETUP_TS_DIR is an error, not the default directory', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  for (const [prog, args] of [['dmsetup', ['ls']], ['losetup', ['-a']], ['dmsetup-ts', ['kernel', 'stop']], ['dmsetup-ts', ['kernel', 'status']], ['dmsetup-ts', ['dmesg']]] as const) {
    const r = await sb.run(prog, [...args], { env: { ...sb.env, DMSETUP_TS_DIR: '' } });
    t.equal(r.exitCode, 1, `${prog} ${args.join(' ')}: exit 1`);
    t.match(r.stderr, /DMSETUP_TS_DIR is set but empty/, `${prog} ${args.join(' ')}: says why`);
  }
});

t.test("the kernel refuses connections once its directory or socket lets others in", async (t) => {
  const { sb, kdir, sock } = await kernelUnderUmask000(t);
  // What a client that skips the directory check (or another uid, if the socket were open) gets.
  const answered = () => new Promise<boolean>((resolve) => {
    const s = net.connect(sock);
    s.on('connect', () => s.write(pingFrame()));
    s.on('data', () => { s.destroy(); resolve(true); });
    s.on('close', () => resolve(false));
    s.on('error', () => resolve(false));
  });
  t.equal(await answered(), true, 'answered while private');
  fs.chmodSync(kdir, 0o711);
  t.equal(await answered(), false, 'directory 711: refused');
  const own = await sb.dmsetup(['ls']);
  t.equal(own.exitCode, 1, "the owner's own command refuses the directory too");
  t.match(own.stderr, /mode 711 lets others in \(must be 700\)/);
  fs.chmodSync(kdir, 0o700);
  fs.chmodSync(sock, 0o666);
  t.equal(await answered(), false, 'socket 666: refused');
  fs.chmodSync(sock, 0o600);
  t.equal(await answered(), true, 'private again: answered');
  t.match((await sb.run('dmsetup-ts', ['dmesg'])).stdout, /refused a connection: .*kernel\.sock: mode 666 lets others in/, 'the kernel log says why');
});

const notRoot = process.getuid?.() !== 0 ? 'needs root: the test creates a second user (useradd) and connects as it' : false;

t.test('another uid cannot reach the kernel under any directory mode', { skip: notRoot }, async (t) => {
  const user = `dmts${process.pid % 100000}`;
  try {
    execFileSync('useradd', ['-M', '-N', '-r', '-s', '/usr/sbin/nologin', user], { stdio: 'pipe' });
  } catch (e) {
    t.fail(`useradd failed: ${(e as Error).message}`);
    return;
  }
  t.teardown(() => { try { execFileSync('userdel', [user], { stdio: 'pipe' }); } catch { /* gone */ } });
  const uid = Number(execFileSync('id', ['-u', user]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', user]).toString().trim());
  const { kdir, sock, nbd } = await kernelUnderUmask000(t);
  /** Connect as the other user (under umask 000), send a ping: 'answered', or why not. */
  const asOther = (p: string) => new Promise<string>((resolve) => {
    const code = `process.umask(0); const s = require('net').connect(${JSON.stringify(p)});
      s.on('connect', () => s.write(Buffer.from(${JSON.stringify([...pingFrame()])})));
      s.on('data', () => { console.log('answered'); process.exit(0); });
      s.on('close', () => { console.log('closed unanswered'); process.exit(0); });
      s.on('error', (e) => { console.log(e.code); process.exit(0); });`;
    // A clean environment: not the test runner's NODE_OPTIONS (its hooks write where the other user may not).
    // tap's processinfo puts its --import hook into a node child's NODE_OPTIONS, which `env -u` takes out again.
    const c = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, '-e', code], { uid, gid, cwd: '/', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => { out += d; });
    let err = '';
    c.stderr.on('data', (d: Buffer) => { err += d; });
    // The answer is the first line on stdout (the test runner's process hooks may complain on stderr as that user).
    c.on('close', () => resolve(out.split('\n')[0]!.trim() || `no answer: ${err.trim().slice(0, 200)}`));
  });
  for (const m of [0o700, 0o711, 0o755, 0o777]) {
    fs.chmodSync(kdir, m);
    for (const p of [sock, nbd]) {
      const r = await asOther(p);
      t.not(r, 'answered', `directory ${m.toString(8)}, ${path.basename(p)}: refused (${r})`);
    }
  }
  // Even a socket its owner opened up by mistake: the kernel refuses, as the directory lets others in.
  fs.chmodSync(kdir, 0o711);
  fs.chmodSync(sock, 0o666);
  const r = await asOther(sock);
  t.match(r, /^(closed unanswered|EPIPE|ECONNRESET)$/, `directory 711, socket 666: the kernel refuses (${r})`);
  fs.chmodSync(sock, 0o600);
  fs.chmodSync(kdir, 0o700);
});

/** A ping request as the wire carries it. */
function pingFrame(): Buffer {
  const j = Buffer.from(JSON.stringify({ op: 'ping', args: {} }));
  const a = Buffer.alloc(4); a.writeUInt32BE(j.length);
  return Buffer.concat([a, j, Buffer.alloc(4)]);
}
