// The NBD protocol fuzzer: random and malformed handshakes, options and
// commands (bad magics, lengths past the export or past the maximum payload,
// unaligned requests, unknown commands and flags, pipelined bursts,
// disconnects in the middle of a request) against the NBD export of a kernel
// process. What must hold: the process lives, every request that can be
// answered is answered (or the connection closed) in bounded time, it logs no
// internal error, and afterwards every device has its table, the mirror is in
// sync with identical legs, the device nobody wrote holds its data, and every
// acknowledged write to the mirror reads back.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { MAIN } from '../helpers/cli.js';
import { IHAVEOPT, RawNbdClient, REQUEST_MAGIC } from '../helpers/nbd-client.js';
import { Rng, caseSeed } from './rng.js';
import { Hang, bounded, newSummary, type FuzzFailure, type Summary } from './summary.js';

export interface NbdFuzzOptions {
  cases: number;
  seed: number;
  /** A short directory of the caller's (the runtime directory and the leg files go there). */
  dir: string;
  first?: number;
  opTimeoutMs?: number;
  maxFailures?: number;
}

const MiB = 1 << 20;
const M_BYTES = 8 * MiB;
const KEEP_BYTES = 4 * MiB;
const MAX_PAYLOAD = 32 * MiB;
const OPT = { EXPORT_NAME: 1, ABORT: 2, LIST: 3, PEEK: 4, STARTTLS: 5, INFO: 6, GO: 7, STRUCTURED_REPLY: 8, LIST_META: 9, SET_META: 10, EXT_HEADERS: 11 };
const REP_ACK = 1;
const CMD = { READ: 0, WRITE: 1, DISC: 2, FLUSH: 3, TRIM: 4, CACHE: 5, WRITE_ZEROES: 6, BLOCK_STATUS: 7 };
/** Export names to ask for ("/dev/loop3" is a scratch loop device no table uses; "/dev/loop9" has no file). */
const EXPORTS = ['m', 'm', 'm', 'm', 'keep', 'ro', 'err', 'empty', 'nosuch', '', '/dev/loop3', '/dev/loop9', 'm\0', 'M', 'x'.repeat(300)];

/** What the fuzzer knows the mirror "m" holds: bytes, and which sectors are certain. */
class Shadow {
  readonly data = Buffer.alloc(M_BYTES);
  readonly known = new Uint8Array(M_BYTES / 512).fill(1);
  /** The case that last wrote or forgot each sector (for the failure report). */
  readonly lastCase = new Int32Array(M_BYTES / 512).fill(-1);
  current = -1;
  write(off: number, b: Buffer): void { b.copy(this.data, off); this.known.fill(1, off / 512, (off + b.length) / 512); this.lastCase.fill(this.current, off / 512, (off + b.length) / 512); }
  zero(off: number, len: number): void { this.data.fill(0, off, off + len); this.known.fill(1, off / 512, (off + len) / 512); this.lastCase.fill(this.current, off / 512, (off + len) / 512); }
  forget(offset: bigint, len: number): void {
    if (offset >= BigInt(M_BYTES) || len <= 0) return;
    const off = Number(offset);
    this.known.fill(0, Math.floor(off / 512), Math.ceil(Math.min(M_BYTES, off + len) / 512));
    this.lastCase.fill(this.current, Math.floor(off / 512), Math.ceil(Math.min(M_BYTES, off + len) / 512));
  }
}

interface Reply { errno: number; data: Buffer }

class NbdFuzzer {
  readonly s: Summary;
  readonly env: Record<string, string>;
  readonly kdir: string;
  readonly shadow = new Shadow();
  keep: Buffer = Buffer.alloc(0);
  pid = 0;
  tables = '';
  private log: string[] = [];
  private caseIndex = -1;
  private caseSeed = 0;
  private t0 = 0;

  constructor(readonly opts: NbdFuzzOptions) {
    this.s = newSummary('nbd', opts.cases, opts.seed);
    this.kdir = path.join(opts.dir, 'k');
    this.env = { DMSETUP_TS_DIR: this.kdir, LC_ALL: 'C' };
  }

  get sock(): string { return path.join(this.kdir, 'nbd.sock'); }
  private get timeout(): number { return this.opts.opTimeoutMs ?? 5000; }

  async cli(prog: string, args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const r = await execa(process.execPath, [MAIN, ...args], { cwd: this.opts.dir, env: { ...this.env, DMSETUP_TS_PROG: prog }, reject: false });
    return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
  }

  async must(prog: string, args: string[]): Promise<string> {
    const r = await this.cli(prog, args);
    if (r.exitCode !== 0) throw new Error(`${prog} ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  fail(kind: FuzzFailure['kind'], what: string): void {
    if (kind === 'escaped') this.s.escaped++;
    else if (kind === 'hang') this.s.hangs++;
    else if (kind === 'death') this.s.deaths++;
    else if (kind === 'leftover') this.s.leftovers++;
    else this.s.invariants++;
    if (this.s.failures.length < (this.opts.maxFailures ?? 20)) this.s.failures.push({ case: this.caseIndex, seed: this.caseSeed, kind, what, ops: this.log.slice(-20) });
  }

  alive(): boolean {
    try { process.kill(this.pid, 0); return true; } catch { return false; }
  }

  async setup(): Promise<void> {
    for (let i = 0; i < 4; i++) {
      const f = path.join(this.opts.dir, `d${i}`);
      fs.writeFileSync(f, '');
      fs.truncateSync(f, M_BYTES);
      // The first command starts the kernel process; on a loaded machine give it more than one try.
      for (let tries = i === 0 ? 3 : 1; ; tries--) {
        const r = await this.cli('losetup', [`/dev/loop${i}`, f]);
        if (r.exitCode === 0) break;
        if (tries <= 1 || !/did not start/.test(r.stderr)) throw new Error(`losetup /dev/loop${i}: ${r.stderr}`);
      }
    }
    await this.must('dmsetup', ['create', 'm', '--table', `0 ${M_BYTES / 512} mirror core 1 1024 2 /dev/loop0 0 /dev/loop1 0`]);
    await this.must('dmsetup', ['create', 'keep', '--table', `0 ${KEEP_BYTES / 512} linear /dev/loop2 0`]);
    await this.must('dmsetup', ['create', 'ro', '--readonly', '--table', `0 8192 linear /dev/loop2 ${KEEP_BYTES / 512}`]);
    await this.must('dmsetup', ['create', 'err', '--table', '0 8192 error']);
    await this.must('dmsetup', ['create', 'empty', '--notable']);
    await this.must('dmsetup-ts', ['wait-sync', 'm']);
    this.pid = Number(fs.readFileSync(path.join(this.kdir, 'kernel.pid'), 'utf8'));
    this.tables = await this.must('dmsetup', ['table']);
    // "keep" gets a pattern once; the fuzzer never writes it again.
    const r = new Rng(this.opts.seed ^ 0x5eed);
    this.keep = r.bytes(KEEP_BYTES);
    const c = await this.go('keep', false);
    if (!c) throw new Error('nbd: cannot open keep');
    c.request(CMD.WRITE, 0, KEEP_BYTES, { cookie: 1n, data: this.keep });
    const rep = await bounded(c.simpleReply(), 30000, 'keep write');
    if (rep?.errno !== 0) throw new Error('nbd: cannot write keep');
    c.request(CMD.DISC, 0, 0);
    c.end();
  }

  /** A clean connection: hello, optional structured replies, GO; null if it did not open. */
  async go(name: string, structured: boolean): Promise<RawNbdClient | null> {
    const c = await RawNbdClient.connect(this.sock);
    await bounded(c.hello(), this.timeout, 'greeting');
    if (structured) {
      c.sendOpt(OPT.STRUCTURED_REPLY);
      const r = await bounded(c.optReply(), this.timeout, 'STRUCTURED_REPLY');
      if (r?.type !== REP_ACK) { c.destroy(); return null; }
    }
    c.sendOpt(OPT.GO, RawNbdClient.goData(name, [3]));
    const replies = await bounded(c.optReplies(), this.timeout, 'GO');
    if (replies.at(-1)?.type !== REP_ACK) { c.destroy(); return null; }
    return c;
  }

  /** One reply to a command: simple, or structured chunks up to the one flagged done. */
  async reply(c: RawNbdClient, structured: boolean, readLen: number): Promise<Reply | null> {
    if (!structured) return bounded(c.simpleReply(readLen), this.timeout, 'reply');
    const parts: Buffer[] = [];
    let errno = 0;
    for (;;) {
      const r = await bounded(c.structuredReply(), this.timeout, 'structured reply');
      if (!r) return null;
      if (r.errno) errno = r.errno;
      if (r.structuredType === 1) parts.push(r.data);
      if (r.flags & 1) return { errno, data: Buffer.concat(parts) };
    }
  }

  // ---- the cases --------------------------------------------------------------

  /** Garbage where the handshake should be, then our close. */
  async garbage(r: Rng): Promise<void> {
    const c = await RawNbdClient.connect(this.sock);
    try {
      if (r.chance(0.5)) await bounded(c.read(18), this.timeout, 'greeting');
      const junk = r.chance(0.3) ? Buffer.alloc(r.range(1, 64), r.int(256)) : r.bytes(r.range(1, 300));
      this.log.push(`garbage ${junk.length} bytes`);
      c.write(junk);
      if (r.chance(0.5)) await c.closedWithin(r.range(0, 20));
    } finally { c.destroy(); }
  }

  /** Options: mostly well formed, some not; each answered or the connection closed. */
  async options(r: Rng): Promise<void> {
    const c = await RawNbdClient.connect(this.sock);
    try {
      await bounded(c.read(18), this.timeout, 'greeting');
      const cflags = r.pick([3, 3, 3, 1, 0, 2, 4, 0xffffffff]);
      const f = Buffer.alloc(4);
      f.writeUInt32BE(cflags >>> 0);
      c.write(f);
      this.log.push(`client flags ${cflags}`);
      const bogusFlags = (cflags & ~3) !== 0; // unknown client flags: the server closes
      let structured = false;
      for (let n = r.range(1, 6); n > 0 && !c.closed; n--) {
        const opt = r.pick([OPT.LIST, OPT.INFO, OPT.GO, OPT.STRUCTURED_REPLY, OPT.EXPORT_NAME, OPT.ABORT, OPT.PEEK, OPT.STARTTLS, OPT.LIST_META, OPT.SET_META, OPT.EXT_HEADERS, 0, 12, 0x7fffffff, 0x80000000, 0xffffffff]);
        let data: Buffer;
        const name = Buffer.from(r.pick(EXPORTS));
        if (opt === OPT.INFO || opt === OPT.GO) {
          data = RawNbdClient.goData(name.toString(), r.chance(0.5) ? [] : Array.from({ length: r.range(0, 5) }, () => r.pick([0, 1, 2, 3, 9, 0xffff])));
          if (r.chance(0.3)) data = data.subarray(0, r.int(data.length + 1)); // truncated: malformed
          if (r.chance(0.1) && data.length >= 4) data.writeUInt32BE(r.pick([0xffffffff, 0x7fffffff, 1000]), 0); // name length past the data
        } else if (opt === OPT.EXPORT_NAME) data = name;
        else data = r.chance(0.7) ? Buffer.alloc(0) : r.bytes(r.range(1, 64));
        const magic = r.chance(0.05) ? r.pick([0n, 1n, IHAVEOPT + 1n, 0x25609513n]) : IHAVEOPT;
        // The declared length: what is sent, or a lie (longer: the server waits for the rest; huge: it refuses).
        const lie = r.chance(0.1) ? r.pick([data.length + 1, 64 << 10, (64 << 10) + 1, 0xffffffff]) : data.length;
        this.log.push(`option ${opt} len ${lie}/${data.length} magic ${magic === IHAVEOPT ? 'ok' : 'bad'}`);
        const h = Buffer.alloc(16);
        h.writeBigUInt64BE(magic, 0);
        h.writeUInt32BE(opt >>> 0, 8);
        h.writeUInt32BE(lie >>> 0, 12);
        c.write(Buffer.concat([h, data]));
        if (lie > data.length && lie <= 64 << 10) return; // it waits for data that never comes: we go
        if (magic !== IHAVEOPT || bogusFlags || lie > 64 << 10) {
          if (!(await c.closedWithin(this.timeout))) this.fail('hang', `option ${opt}: neither answered nor closed`);
          return;
        }
        if (opt === OPT.EXPORT_NAME) {
          // Success: the export's size and flags (and 124 zeroes without NO_ZEROES); failure: closed.
          const tail = await Promise.race([c.read(cflags & 2 ? 10 : 134), c.closedWithin(this.timeout).then(() => null)]);
          if (tail) await this.transmission(r, c, structured, name.toString());
          return;
        }
        const replies = await bounded(c.optReplies(), this.timeout, `option ${opt}`).catch((e) => { if (e instanceof Hang) this.fail('hang', e.message); return null; });
        if (!replies) return;
        if (!replies.length) { if (!c.closed && !(await c.closedWithin(this.timeout))) this.fail('hang', `option ${opt}: neither answered nor closed`); return; }
        if (opt === OPT.STRUCTURED_REPLY && replies.at(-1)!.type === REP_ACK) structured = true;
        if (opt === OPT.GO && replies.at(-1)!.type === REP_ACK) { await this.transmission(r, c, structured, name.toString()); return; }
      }
    } finally { c.destroy(); }
  }

  /** Commands on an open export; keep track of what "m" must hold. */
  async transmission(r: Rng, c: RawNbdClient, structured: boolean, name: string): Promise<void> {
    const size = name === 'm' || name === '/dev/loop3' ? M_BYTES : name === 'keep' ? KEEP_BYTES : 8192 * 512;
    const offsets = (): bigint => r.pick([0n, 0n, 512n, 4096n, BigInt(r.int(size / 512) * 512), BigInt(size - 512), BigInt(size - 4096), BigInt(size),
      BigInt(size + 512), 1n, 511n, BigInt(r.int(size)), 1n << 32n, 1n << 53n, (1n << 53n) + 512n, 1n << 63n, (1n << 64n) - 512n, (1n << 64n) - 1n]);
    const lengths = () => r.pick([0, 512, 512, 4096, 4096, 65536, 1, 511, 513, r.range(1, 8) * 512, MiB, MAX_PAYLOAD, MAX_PAYLOAD + 1, 0xffffffff]);
    let cookie = BigInt(r.u32());
    for (let n = r.range(1, 10); n > 0; n--) {
      if (c.closed) return;
      const burst = r.chance(0.15) ? r.range(2, 6) : 1;
      const sent: Array<{ cookie: bigint; type: number; off: bigint; len: number; data?: Buffer }> = [];
      for (let b = 0; b < burst; b++) {
        let type = r.pick([CMD.READ, CMD.READ, CMD.WRITE, CMD.WRITE, CMD.WRITE, CMD.FLUSH, CMD.TRIM, CMD.WRITE_ZEROES, CMD.CACHE, CMD.BLOCK_STATUS, 9, 0xffff]);
        if (name === 'keep' && (type === CMD.WRITE || type === CMD.TRIM || type === CMD.WRITE_ZEROES)) type = CMD.READ; // nobody writes keep
        const flags = r.chance(0.7) ? 0 : r.pick([1, 2, 4, 8, 16, 0xffff]);
        let off = offsets();
        let len = type === CMD.FLUSH && r.chance(0.8) ? 0 : lengths();
        // Big payloads cost time on the wire: few of them.
        if (len >= MiB && type === CMD.WRITE && r.chance(0.97)) len = len > MAX_PAYLOAD && r.chance(0.5) ? len : 4096;
        if (off + BigInt(len) > 1n << 64n) off = 0n;
        const magic = r.chance(0.03) ? r.pick([0, 0x25609514, 0x67446698]) : REQUEST_MAGIC;
        cookie++;
        const data = type === CMD.WRITE && len <= MAX_PAYLOAD ? r.bytes(len) : undefined;
        const cut = type === CMD.WRITE && data && len > 0 && r.chance(0.05); // disconnect in the middle of the payload
        this.log.push(`${name} cmd ${type} flags ${flags} off ${off} len ${len} magic ${magic === REQUEST_MAGIC ? 'ok' : 'bad'}${cut ? ' cut' : ''}`);
        const h = Buffer.alloc(28);
        h.writeUInt32BE(magic, 0);
        h.writeUInt16BE(flags, 4);
        h.writeUInt16BE(type, 6);
        h.writeBigUInt64BE(cookie, 8);
        h.writeBigUInt64BE(off, 16);
        h.writeUInt32BE(len >>> 0, 24);
        if (cut) {
          c.write(Buffer.concat([h, data!.subarray(0, r.int(len))]));
          c.destroy(); // the server must write nothing of it (but may do what the burst sent before it)
          for (const x of sent) if (name === 'm' && x.type !== CMD.READ && x.type !== CMD.FLUSH) this.shadow.forget(x.off, x.len);
          return;
        }
        c.write(data ? Buffer.concat([h, data]) : h);
        if (magic !== REQUEST_MAGIC || (type === CMD.WRITE && len > MAX_PAYLOAD) || type === CMD.DISC) {
          // Out of step (or asked to go): the server closes, after answering what it had.
          for (const s of sent) if (name === 'm' && s.type !== CMD.READ && s.type !== CMD.FLUSH) this.shadow.forget(s.off, s.len);
          if (!(await c.closedWithin(this.timeout))) this.fail('hang', `${name}: bad request not followed by a close`);
          return;
        }
        sent.push({ cookie, type, off, len, data });
      }
      const overlap = burst > 1;
      for (let i = 0; i < sent.length; i++) {
        const s = sent[i]!;
        const isRead = s.type === CMD.READ;
        const inRange = s.off + BigInt(s.len) <= BigInt(size) && s.off % 512n === 0n && s.len % 512 === 0;
        const off = Number(s.off);
        let rep: Reply | null;
        try {
          // Replies may come in any order in a burst: the data length is known only for reads that can succeed.
          rep = await this.reply(c, structured, !overlap && isRead && inRange && s.len <= MAX_PAYLOAD ? s.len : 0);
        } catch (e) {
          if (e instanceof Hang) { this.fail('hang', `${name}: no reply to cmd ${s.type} off ${s.off} len ${s.len}`); }
          else this.fail('invariant', `${name}: bad reply: ${(e as Error).message}`);
          for (const x of sent) if (name === 'm' && x.type !== CMD.READ) this.shadow.forget(x.off, x.len);
          return;
        }
        if (!rep) {
          for (const x of sent) if (name === 'm' && x.type !== CMD.READ) this.shadow.forget(x.off, x.len);
          return;
        }
        if (overlap) {
          // Which request a reply belongs to is not followed here: what the burst wrote is uncertain, and its reads'
          // data would put the stream out of step, so the connection ends.
          for (const x of sent) if (name === 'm' && x.type !== CMD.READ) this.shadow.forget(x.off, x.len);
          if (sent.some((x) => x.type === CMD.READ)) return;
          continue;
        }
        if (name !== 'm') continue;
        if (s.type === CMD.WRITE && s.data) {
          if (rep.errno === 0) {
            if (!inRange) this.fail('invariant', `m: write past the end or unaligned acknowledged: off ${s.off} len ${s.len}`);
            else this.shadow.write(off, s.data);
          } else this.shadow.forget(s.off, s.len);
        } else if (s.type === CMD.WRITE_ZEROES) {
          if (rep.errno === 0 && inRange) this.shadow.zero(off, s.len);
          else this.shadow.forget(s.off, s.len);
        } else if (s.type === CMD.TRIM) {
          this.shadow.forget(s.off, s.len);
        } else if (isRead && rep.errno === 0 && inRange) {
          this.checkRead(off, rep.data);
        }
      }
    }
    if (r.chance(0.5)) { c.request(CMD.DISC, 0, 0); await c.closedWithin(this.timeout); }
  }

  /** Data read from "m" must match every sector the fuzzer is sure of. */
  checkRead(off: number, data: Buffer): void {
    for (let s = 0; s < data.length; s += 512) {
      const sec = (off + s) / 512;
      if (!this.shadow.known[sec]) continue;
      if (!data.subarray(s, s + 512).equals(this.shadow.data.subarray(off + s, off + s + 512))) {
        this.fail('invariant', `m: sector ${sec} does not hold what was last acknowledged there`);
        return;
      }
    }
  }

  async runCase(i: number): Promise<void> {
    this.caseIndex = i;
    this.caseSeed = caseSeed(this.opts.seed, i);
    this.shadow.current = i;
    const r = new Rng(this.caseSeed);
    if (process.env.NBD_FUZZ_TRACE && this.log.length) fs.appendFileSync(process.env.NBD_FUZZ_TRACE, `case ${i - 1} ${Date.now() - this.t0} ms: ${this.log.join(' | ')}\n`);
    this.t0 = Date.now();
    this.log = [];
    this.s.ops++;
    try {
      const kind = r.int(10);
      if (kind < 2) await this.garbage(r);
      else if (kind < 5) await this.options(r);
      else {
        const structured = r.chance(0.5);
        const name = r.chance(0.85) ? 'm' : r.pick(['keep', 'ro', 'err']);
        this.log.push(`go ${name}${structured ? ' structured' : ''}`);
        const c = await this.go(name, structured);
        if (!c) { this.fail('invariant', `GO ${name} refused`); return; }
        try { await this.transmission(r, c, structured, name); } finally { c.destroy(); }
      }
    } catch (e) {
      if (e instanceof Hang) this.fail('hang', e.message);
      else if ((e as NodeJS.ErrnoException).code === 'ECONNREFUSED' || (e as NodeJS.ErrnoException).code === 'ENOENT') this.fail('death', `cannot connect: ${(e as Error).message}`);
      else this.fail('escaped', `fuzzer: ${(e as Error)?.stack ?? String(e)}`);
    }
  }

  /** Every device as it was, the mirror in sync with identical legs and its data, keep intact, nothing open, no internal error. */
  async finalCheck(): Promise<void> {
    if (!this.alive()) { this.fail('death', 'the kernel process is gone'); return; }
    const tables = await this.cli('dmsetup', ['table']);
    if (tables.stdout !== this.tables) this.fail('invariant', `tables changed:\n${this.tables}->\n${tables.stdout}`);
    // Connections close asynchronously: give the last ones a moment before counting openers.
    let info = '';
    for (let t = 0; t < 50; t++) {
      info = (await this.cli('dmsetup', ['info', '-c', '--noheadings', '-o', 'name,open'])).stdout;
      if (!/:[1-9]/.test(info.replace(/ /g, ''))) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    if (/:[1-9]/.test(info.replace(/ /g, ''))) this.fail('leftover', `devices still open: ${info}`);
    const sync = await this.cli('dmsetup-ts', ['wait-sync', 'm']);
    if (sync.exitCode !== 0 || !/legs AA/.test(sync.stdout)) this.fail('invariant', `m: ${sync.stdout}${sync.stderr}`);
    const c = await this.go('m', false);
    if (!c) { this.fail('invariant', 'GO m refused at the end'); return; }
    for (let off = 0; off < M_BYTES; off += MiB) {
      c.request(CMD.READ, off, MiB, { cookie: BigInt(off) });
      const rep = await bounded(c.simpleReply(MiB), this.timeout, 'final read');
      if (!rep || rep.errno) { this.fail('invariant', `m: final read at ${off} failed`); break; }
      this.checkRead(off, rep.data);
    }
    c.request(CMD.DISC, 0, 0);
    c.destroy();
    const legs = [0, 1].map((i) => fs.readFileSync(path.join(this.opts.dir, `d${i}`)));
    if (!legs[0]!.equals(legs[1]!)) {
      let at = 0;
      while (legs[0]![at] === legs[1]![at]) at++;
      const n = (b: Buffer) => b.subarray(at - (at % 512), at - (at % 512) + 512);
      this.fail('invariant', `m: in sync but its legs differ from byte ${at} (sector ${Math.floor(at / 512)}; leg 0 ${n(legs[0]!).every((x) => x === 0) ? 'zeros' : 'data'}, leg 1 ${n(legs[1]!).every((x) => x === 0) ? 'zeros' : 'data'}; known ${this.shadow.known[Math.floor(at / 512)]}, last touched by case ${this.shadow.lastCase[Math.floor(at / 512)]}); kernel log: ${(await this.cli('dmsetup-ts', ['dmesg'])).stdout.split('\n').slice(-8).join(' / ')}`);
    }
    const keep = fs.readFileSync(path.join(this.opts.dir, 'd2')).subarray(0, KEEP_BYTES);
    if (!keep.equals(this.keep)) this.fail('invariant', 'keep: its data changed though nobody wrote it');
    const dmesg = await this.cli('dmsetup-ts', ['dmesg']);
    const internal = dmesg.stdout.split('\n').filter((l) => /internal error/.test(l));
    for (const l of internal.slice(0, 5)) this.fail('escaped', `kernel log: ${l}`);
    this.s.escaped += Math.max(0, internal.length - 5);
  }
}

/** Run `cases` seeded cases against a kernel process started in opts.dir (stopped afterwards). */
export async function runNbdFuzz(opts: NbdFuzzOptions): Promise<Summary> {
  const f = new NbdFuzzer(opts);
  const t0 = Date.now();
  try {
    await f.setup();
    const first = opts.first ?? 0;
    for (let i = first; i < first + opts.cases; i++) {
      await f.runCase(i);
      if (i % 50 === 49 && !f.alive()) { f.fail('death', `the kernel process died by case ${i}`); break; }
    }
    await f.finalCheck();
  } finally {
    await f.cli('dmsetup-ts', ['kernel', 'stop']).catch(() => undefined);
  }
  f.s.ms = Date.now() - t0;
  return f.s;
}
