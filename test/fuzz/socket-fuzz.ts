// The socket-protocol fuzzer: random and malformed frames against one kernel
// process (truncated and huge length prefixes, heads that are not JSON or of
// the wrong types, unknown operations, known ones with random arguments,
// abrupt disconnects), checking that the process survives, answers, logs no
// internal error, and that a device created beforehand keeps its table and data.

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeFrame, FrameReader, MAX_HEAD_BYTES, MAX_PAYLOAD_BYTES, type Response } from '../../kernel/protocol.js';

export interface SocketFuzzOptions {
  cases: number;
  seed: number;
  /** A short, empty-or-missing directory of the caller's: the runtime directory and the files go there (its socket path must fit a Unix socket). */
  dir: string;
  /** Cases in flight at once (default 4). */
  concurrency?: number;
  /** Called now and then with a progress line. */
  progress?: (line: string) => void;
}

export interface Summary {
  seed: number;
  cases: number;
  /** Cases of each kind. */
  kinds: Record<string, number>;
  /** Requests answered, by outcome (ok, or the errno). */
  answers: Record<string, number>;
  /** Requests the fuzzer gave up waiting for though the operation never blocks. */
  hangs: number;
  /** Requests that may rightly block (devWait, I/O on a suspended device...) and were abandoned. */
  abandoned: number;
  /** The kernel process exited (or stopped answering a ping). */
  kernelDeaths: number;
  /** "internal error" lines in the kernel log: an exception that was not a kernel errno. */
  internalErrors: number;
  /** The first few of them. */
  internalErrorLines: string[];
  /** The device created before the fuzzing has its table and its data. */
  deviceIntact: boolean;
  /** Devices other than that one when the fuzzing ended (the fuzzer's own, created by valid requests). */
  otherDevices: number;
  /** What went wrong, in words (empty when all held). */
  problems: string[];
  ms: number;
}

/** sfc32-free small PRNG: mulberry32, seeded. */
class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number { return Math.floor(this.next() * n); }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; }
  chance(p: number): boolean { return this.next() < p; }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

const KEEP = { name: 'keep', uuid: 'KEEP-UUID-0001', sectors: 2048 };
/** Loop devices of the kept device: never detached, written or mapped by a fuzz case. */
const KEEP_LOOPS = [0, 1];
const FUZZ_LOOPS = [2, 3];

/** Operations that may rightly wait (an event, a suspended device's I/O, a presuspend): abandoned after a short while, not hangs. */
const MAY_BLOCK = new Set(['devWait', 'devSuspend', 'devResume', 'devRemove', 'ioRead', 'ioWrite', 'tableStatus', 'targetMessage', 'tableLoad']);
const BLOCK_WAIT_MS = 300;
const ANSWER_WAIT_MS = 15_000;

const DAEMON = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../kernel/daemon.js');

/** One connection to the kernel: send bytes, take replies. */
class Conn {
  private reader = new FrameReader<Response>();
  private replies: Response[] = [];
  private waiters: Array<() => void> = [];
  closed = false;
  error: string | null = null;

  private constructor(readonly sock: net.Socket) {
    sock.on('data', (c) => {
      try {
        for (const f of this.reader.push(c)) this.replies.push(f.head);
      } catch (e) {
        this.error = `unreadable reply: ${(e as Error).message}`;
        sock.destroy();
      }
      this.wake();
    });
    sock.on('close', () => { this.closed = true; this.wake(); });
    sock.on('error', () => undefined);
  }

  static open(sockPath: string): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = net.connect(sockPath);
      s.once('connect', () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }

  private wake(): void { for (const w of this.waiters.splice(0)) w(); }

  send(b: Buffer): void { if (!this.sock.destroyed) this.sock.write(b); }

  /** The next reply, or 'closed', or 'timeout' after ms. */
  async reply(ms: number): Promise<Response | 'closed' | 'timeout'> {
    const deadline = Date.now() + ms;
    for (;;) {
      const r = this.replies.shift();
      if (r) return r;
      if (this.closed) return 'closed';
      const left = deadline - Date.now();
      if (left <= 0) return 'timeout';
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  close(): void { this.sock.destroy(); }
}

/** Send one well-formed request on a fresh connection and wait for its answer. */
async function call(sockPath: string, op: string, args: Record<string, unknown> = {}, payload: Buffer | null = null, ms = ANSWER_WAIT_MS): Promise<Response & { payload?: Buffer }> {
  const c = await Conn.open(sockPath);
  try {
    let payloadOut: Buffer | undefined;
    const reader = new FrameReader<Response>();
    const got = new Promise<Response>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${op}: no answer in ${ms} ms`)), ms);
      c.sock.removeAllListeners('data');
      c.sock.on('data', (chunk) => {
        const [f] = reader.push(chunk);
        if (f) { clearTimeout(t); payloadOut = f.payload ?? undefined; resolve(f.head); }
      });
      c.sock.on('close', () => { clearTimeout(t); reject(new Error(`${op}: connection closed`)); });
    });
    c.send(encodeFrame({ op, args }, payload));
    const head = await got;
    return { ...head, payload: payloadOut };
  } finally {
    c.close();
  }
}

async function must(sockPath: string, op: string, args: Record<string, unknown> = {}, payload: Buffer | null = null): Promise<Response & { payload?: Buffer }> {
  const r = await call(sockPath, op, args, payload);
  if (!r.ok) throw new Error(`socket fuzz setup: ${op} failed: ${r.errno} ${r.message ?? ''}`);
  return r;
}

/** A frame's bytes by hand: u32 head length | head | u32 payload length | payload. */
function rawFrame(head: Buffer, payload: Buffer = Buffer.alloc(0)): Buffer {
  const a = Buffer.alloc(4); a.writeUInt32BE(head.length);
  const b = Buffer.alloc(4); b.writeUInt32BE(payload.length);
  return Buffer.concat([a, head, b, payload]);
}

/** What each argument of the protocol is (as its clients send it). */
const FIELD_KIND: Record<string, 'str' | 'bool' | 'int' | 'u64' | 'ref' | 'refs' | 'targets'> = {
  name: 'str', uuid: 'str', newValue: 'str', message: 'str', from: 'str', to: 'str', path: 'str', file: 'str', dev: 'str', attachCwd: 'str',
  deferred: 'bool', setUuid: 'bool', noflush: 'bool', inactive: 'bool', readOnly: 'bool', buffered: 'bool', clear: 'bool',
  minor: 'int', major: 'int', number: 'int', eventNr: 'int', count: 'int', bs: 'int', tcp: 'int',
  sector: 'u64', ref: 'ref', refs: 'refs', targets: 'targets',
};
/** Values that are not of a kind. */
const WRONG: Record<string, unknown[]> = {
  str: [null, true, 0, -1, [], ['x'], {}, { $u64: '1' }],
  bool: [null, 0, 1, 'true', '', [], {}],
  int: [null, true, '1', 1.5, NaN, Infinity, 2 ** 53, [], {}, { $u64: '1' }],
  u64: [null, true, '1', 1.5, [], {}, -(2 ** 60) * 16],
  ref: [null, 'keep', 5, [], [{ name: 'keep' }], { name: null }, { name: 5 }, { uuid: [] }, { minor: 'x' }, { minor: 1.5 }, { major: null }],
  refs: [null, {}, 'x', [null], [5], [{ name: null }]],
  targets: [null, {}, 'x', [null], [{}], [{ start: 'a', length: 1, type: 'zero', params: '' }], [{ start: 0, length: 8, type: null, params: '' }],
    [{ start: 0, length: 8, type: 'zero', params: 5 }], [{ start: 1.5, length: 8, type: 'zero', params: '' }]],
};

/** Names fuzz devices get (never KEEP's). */
const NAMES = ['f0', 'f1', 'f2', 'null', '__proto__', 'constructor', 'a b', 'x'.repeat(127), 'x'.repeat(128), 'f/0', '', '-', 'ünï'];
const UUIDS = ['', 'U-f0', 'U-f1', '__proto__', 'u'.repeat(128), 'u'.repeat(129)];
const UNKNOWN_OPS = ['__proto__', 'hasOwnProperty', 'toString', 'constructor', 'valueOf', 'isPrototypeOf', '__defineGetter__', '', ' ping', 'PING', 'stop ', 'devcreate', 'x'.repeat(10_000)];

export async function runSocketFuzz(opts: SocketFuzzOptions): Promise<Summary> {
  const t0 = Date.now();
  const rng = new Rng(opts.seed);
  const dir = path.resolve(opts.dir);
  const kdir = path.join(dir, 'k');
  fs.mkdirSync(dir, { recursive: true });
  const sockPath = path.join(kdir, 'kernel.sock');
  const files = { keep0: path.join(dir, 'keep0'), keep1: path.join(dir, 'keep1'), f: [0, 1, 2, 3].map((i) => path.join(dir, `fz${i}`)) };
  for (const f of [files.keep0, files.keep1, ...files.f]) fs.writeFileSync(f, Buffer.alloc(1 << 20));

  const summary: Summary = {
    seed: opts.seed, cases: 0, kinds: {}, answers: {}, hangs: 0, abandoned: 0, kernelDeaths: 0,
    internalErrors: 0, internalErrorLines: [], deviceIntact: false, otherDevices: 0, problems: [], ms: 0,
  };
  const problem = (s: string) => { if (summary.problems.length < 50) summary.problems.push(s); };

  // ---- the kernel process ----
  let stderr = '';
  const child: ChildProcess = spawn(process.execPath, [DAEMON], {
    env: { ...process.env, DMSETUP_TS_DIR: kdir, DMSETUP_TS_CLOCK: '' }, stdio: ['ignore', 'ignore', 'pipe'], cwd: dir,
  });
  child.stderr!.on('data', (c: Buffer) => { if (stderr.length < 65536) stderr += c.toString(); });
  let exited: string | null = null;
  child.on('exit', (code, sig) => { exited = `exit code ${code}${sig ? `, signal ${sig}` : ''}`; });
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try { await call(sockPath, 'ping', {}, null, 2000); break; } catch { /* not up yet */ }
      if (exited || Date.now() > deadline) throw new Error(`socket fuzz: the kernel process did not start (${exited ?? 'no socket'}): ${stderr.trim()}`);
      await new Promise((r) => setTimeout(r, 20));
    }

    // ---- the device that must come through ----
    await must(sockPath, 'loopAttach', { number: KEEP_LOOPS[0], file: files.keep0 });
    await must(sockPath, 'loopAttach', { number: KEEP_LOOPS[1], file: files.keep1 });
    for (const [i, n] of FUZZ_LOOPS.entries()) await must(sockPath, 'loopAttach', { number: n, file: files.f[i] });
    await must(sockPath, 'devCreate', { name: KEEP.name, uuid: KEEP.uuid });
    const keepTable = [
      { start: 0, length: KEEP.sectors / 2, type: 'linear', params: `/dev/loop${KEEP_LOOPS[0]} 8` },
      { start: KEEP.sectors / 2, length: KEEP.sectors / 2, type: 'linear', params: `/dev/loop${KEEP_LOOPS[1]} 16` },
    ];
    await must(sockPath, 'tableLoad', { ref: { name: KEEP.name }, targets: keepTable });
    await must(sockPath, 'devResume', { ref: { name: KEEP.name } });
    const keepData = new Rng(opts.seed ^ 0x5eed).bytes(KEEP.sectors * 512);
    await must(sockPath, 'ioWrite', { dev: KEEP.name, sector: 0, bs: 65536 }, keepData);
    const tableOf = async () => JSON.stringify((await must(sockPath, 'tableStatus', { ref: { name: KEEP.name }, type: 'table' })).result, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
    const keepTableText = await tableOf();
    const keepMinor = ((await must(sockPath, 'devStatus', { ref: { name: KEEP.name } })).result as { minor: number }).minor;

    // The kernel log, read and cleared now and then (its ring holds 16,384 lines): internal errors counted as they come.
    const internal: string[] = [];
    const readLog = async (clear: boolean) => {
      const log = (await call(sockPath, 'dmesg', { clear }, null, ANSWER_WAIT_MS).catch(() => ({ ok: false, result: [] }))).result as string[];
      for (const l of log) if (/internal error/.test(l)) internal.push(l);
    };
    await readLog(true);

    // ---- the cases ----
    const gen = new CaseGen(rng, { files: files.f, dir, keepMinor });
    let next = 0;
    const worker = async () => {
      while (next < opts.cases && !exited) {
        const c = gen.next(next++);
        summary.kinds[c.kind] = (summary.kinds[c.kind] ?? 0) + 1;
        const n = ++summary.cases;
        await runCase(sockPath, c, summary, problem);
        if (n % 250 === 0) {
          if (!(await alive(sockPath))) {
            problem(`after case ${n}: the kernel process does not answer a ping`);
            break;
          }
          await readLog(true);
          opts.progress?.(`${n}/${opts.cases} cases`);
        }
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker));

    // ---- afterwards ----
    if (exited || !(await alive(sockPath))) {
      summary.kernelDeaths++;
      problem(`the kernel process died or stopped answering (${exited ?? 'no answer to ping'}): ${stderr.trim().slice(-2000)}`);
      return summary;
    }
    await readLog(true);
    summary.internalErrors = internal.length;
    summary.internalErrorLines = internal.slice(0, 10);
    if (internal.length) problem(`${internal.length} internal errors in the kernel log, first: ${internal[0]}`);
    const tableNow = await tableOf();
    const data = (await must(sockPath, 'ioRead', { dev: KEEP.name, sector: 0, count: KEEP.sectors, bs: 65536 })).payload ?? Buffer.alloc(0);
    const status = (await must(sockPath, 'devStatus', { ref: { name: KEEP.name } })).result as { suspended: boolean; uuid: string };
    summary.deviceIntact = tableNow === keepTableText && data.equals(keepData) && !status.suspended && status.uuid === KEEP.uuid;
    if (tableNow !== keepTableText) problem(`the kept device's table changed: ${tableNow} (was ${keepTableText})`);
    if (!data.equals(keepData)) problem("the kept device's data changed");
    if (status.suspended || status.uuid !== KEEP.uuid) problem(`the kept device's state changed: ${JSON.stringify(status)}`);
    const devices = (await must(sockPath, 'listDevices')).result as Array<{ name: string }>;
    summary.otherDevices = devices.filter((d) => d.name !== KEEP.name).length;
    if (summary.hangs) problem(`${summary.hangs} requests never answered`);
    return summary;
  } finally {
    summary.ms = Date.now() - t0;
    if (!exited) {
      await call(sockPath, 'stop', {}, null, 5000).catch(() => undefined);
      const gone = await new Promise<boolean>((resolve) => {
        if (exited) return resolve(true);
        const t = setTimeout(() => resolve(false), 10_000);
        child.once('exit', () => { clearTimeout(t); resolve(true); });
      });
      if (!gone) child.kill('SIGKILL');
    }
  }
}

async function alive(sockPath: string): Promise<boolean> {
  try {
    return (await call(sockPath, 'ping', {}, null, ANSWER_WAIT_MS)).ok;
  } catch {
    return false;
  }
}

/** One case: the bytes to send, how many answers to expect, whether to drop the connection midway. */
interface Case {
  kind: string;
  /** Pieces written in order (a short pause between them). */
  pieces: Buffer[];
  /** Answers expected, in order: the op of each (for MAY_BLOCK), or '' for a malformed frame. */
  expect: string[];
  /** Close the connection right after sending (no answer awaited). */
  abrupt: boolean;
}

async function runCase(sockPath: string, c: Case, s: Summary, problem: (s: string) => void): Promise<void> {
  let conn: Conn;
  try {
    conn = await Conn.open(sockPath);
  } catch (e) {
    problem(`case ${s.cases} (${c.kind}): cannot connect: ${(e as Error).message}`);
    return;
  }
  try {
    for (const [i, p] of c.pieces.entries()) {
      conn.send(p);
      if (i < c.pieces.length - 1) await new Promise((r) => setImmediate(r));
    }
    if (c.abrupt) return;
    for (const op of c.expect) {
      const blocking = MAY_BLOCK.has(op);
      const r = await conn.reply(blocking ? BLOCK_WAIT_MS : ANSWER_WAIT_MS);
      if (r === 'timeout') {
        if (blocking) s.abandoned++;
        else { s.hangs++; problem(`case ${s.cases} (${c.kind}, ${op || 'malformed'}): no answer in ${ANSWER_WAIT_MS} ms`); }
        return;
      }
      if (r === 'closed') {
        problem(`case ${s.cases} (${c.kind}, ${op || 'malformed'}): the kernel closed the connection${conn.error ? `: ${conn.error}` : ''}`);
        return;
      }
      const key = r.ok ? 'ok' : String(r.errno);
      s.answers[key] = (s.answers[key] ?? 0) + 1;
      if (op === '' && r.ok) problem(`case ${s.cases} (${c.kind}): a malformed request was answered ok`);
    }
  } finally {
    conn.close();
  }
}

/** Makes the cases: each kind of hostile or careless client. */
class CaseGen {
  constructor(private readonly rng: Rng, private readonly ctx: { files: string[]; dir: string; keepMinor: number }) {}

  next(_i: number): Case {
    const r = this.rng;
    const kinds: Array<[string, number, () => Case]> = [
      ['truncated-length', 1, () => ({ kind: 'truncated-length', pieces: [r.bytes(1 + r.int(7))], expect: [], abrupt: true })],
      ['huge-length', 1, () => this.huge()],
      ['truncated-frame', 1, () => {
        const f = encodeFrame(this.validRequest().head);
        return { kind: 'truncated-frame', pieces: [f.subarray(0, r.int(f.length))], expect: [], abrupt: true };
      }],
      ['non-json', 2, () => {
        const junk = r.chance(0.5) ? r.bytes(r.int(64)) : Buffer.from(r.pick(['{', '{"op":', 'nul', '[1,2', '{"op":"ping"}}', '\u0000', '{"op":"ping",}', '"\\ud800"', '1e999999', '{"$u64":"x"}', '[[[[[[[[[[' .repeat(1000)]));
        return { kind: 'non-json', pieces: [rawFrame(junk), encodeFrame({ op: 'ping' })], expect: ['', 'ping'], abrupt: false };
      }],
      ['wrong-types', 3, () => this.wrongTypes()],
      ['unknown-op', 1, () => {
        const op = r.pick(UNKNOWN_OPS);
        return { kind: 'unknown-op', pieces: [encodeFrame({ op, args: r.chance(0.5) ? { name: 'x' } : undefined })], expect: [''], abrupt: false };
      }],
      ['valid-op', 8, () => {
        const reqs = Array.from({ length: 1 + r.int(3) }, () => this.validRequest());
        const pieces = [Buffer.concat(reqs.map((q) => encodeFrame(q.head, q.payload)))];
        return { kind: 'valid-op', pieces, expect: reqs.map((q) => q.head.op), abrupt: false };
      }],
      ['abrupt', 2, () => {
        const q = this.validRequest();
        return { kind: 'abrupt', pieces: [encodeFrame(q.head, q.payload)], expect: [], abrupt: true };
      }],
      ['split', 1, () => {
        const q = this.validRequest();
        const f = encodeFrame(q.head, q.payload);
        const cuts = [...new Set(Array.from({ length: 1 + r.int(4) }, () => r.int(f.length)))].sort((a, b) => a - b);
        const pieces: Buffer[] = [];
        let at = 0;
        for (const c of [...cuts, f.length]) { if (c > at) pieces.push(f.subarray(at, c)); at = c; }
        return { kind: 'split', pieces, expect: [q.head.op], abrupt: false };
      }],
    ];
    const total = kinds.reduce((a, k) => a + k[1], 0);
    let x = r.next() * total;
    for (const k of kinds) {
      x -= k[1];
      if (x < 0) return k[2]();
    }
    return kinds[0]![2]();
  }

  private huge(): Case {
    const r = this.rng;
    const which = r.int(3);
    const hdr = Buffer.alloc(4);
    if (which === 0) {
      // A head longer than the kernel reads: skipped unread, then refused.
      hdr.writeUInt32BE(r.pick([0xffffffff, MAX_HEAD_BYTES + 1, 0x80000000]));
      return { kind: 'huge-length', pieces: [hdr, r.bytes(r.int(4096))], expect: [], abrupt: true };
    }
    if (which === 1) {
      // A payload longer than the kernel takes, after a good head.
      const head = Buffer.from(JSON.stringify({ op: 'ioWrite', args: { dev: 'f0', sector: 0 } }));
      const f = rawFrame(head);
      f.writeUInt32BE(r.pick([0xffffffff, MAX_PAYLOAD_BYTES + 1]), f.length - 4);
      return { kind: 'huge-length', pieces: [f, r.bytes(r.int(4096))], expect: [], abrupt: true };
    }
    // A head that says more than follows, then the connection ends.
    hdr.writeUInt32BE(1 + r.int(1 << 20));
    return { kind: 'huge-length', pieces: [hdr, r.bytes(r.int(64))], expect: [], abrupt: true };
  }

  private wrongTypes(): Case {
    const r = this.rng;
    let head: unknown = null;
    switch (r.int(4)) {
      case 0: head = r.pick([null, 0, 'ping', [], [{ op: 'ping' }], true, { args: {} }, { op: null }, { op: 5 }, { op: ['ping'] }, { op: { toString: 'ping' } }]); break;
      case 1: head = { op: r.pick(OPS_WITH_ARGS), args: r.pick([null, 5, 'x', [], [1, 2], true]) }; break;
      default: {
        // A known operation, one of its fields of a wrong type.
        const q = this.validRequest();
        const args = { ...(q.head.args ?? {}) } as Record<string, unknown>;
        const keys = Object.keys(args).filter((k) => FIELD_KIND[k] && args[k] !== undefined);
        if (!keys.length) break;
        const k = r.pick(keys);
        args[k] = r.pick(WRONG[FIELD_KIND[k]!]);
        head = { op: q.head.op, args };
      }
    }
    return { kind: 'wrong-types', pieces: [encodeFrame(head)], expect: [''], abrupt: false };
  }

  /** A device reference that is never the kept device. */
  private ref(): Record<string, unknown> {
    const r = this.rng;
    switch (r.int(4)) {
      case 0: return { uuid: r.pick(UUIDS.filter(Boolean)) };
      case 1: {
        let minor = 1 + r.int(6);
        if (minor === this.ctx.keepMinor) minor++;
        return { major: r.pick([254, 254, 7, 0]), minor };
      }
      case 2: return {};
      default: return { name: r.pick(NAMES) };
    }
  }

  private dev(): string {
    const r = this.rng;
    return r.pick([...NAMES, ...FUZZ_LOOPS.map((n) => `/dev/loop${n}`), '/dev/loop9', '/dev/mapper/f0', '/dev/mapper/f1', '/dev/zero', '/dev/', '']);
  }

  private table(): Array<Record<string, unknown>> {
    const r = this.rng;
    const n = 1 + r.int(3);
    const out = [];
    let start = 0;
    const leg = () => r.pick([...FUZZ_LOOPS.map((l) => `/dev/loop${l}`), ...FUZZ_LOOPS.map((l) => `7:${l}`), '/dev/loop9', '7:12', 'nonexistent']);
    for (let i = 0; i < n; i++) {
      const length = r.pick([0, 1, 8, 64, 1024, 2048, 4096]);
      const [type, params] = r.pick<[string, string]>([
        ['linear', `${leg()} ${r.int(64)}`],
        ['zero', ''],
        ['error', ''],
        ['striped', `2 8 ${leg()} 0 ${leg()} 0`],
        ['mirror', `core 1 ${r.pick([8, 16, 1024])} 2 ${leg()} 0 ${leg()} 0`],
        ['mirror', `core 2 16 nosync 2 ${leg()} 0 ${leg()} 0 1 handle_errors`],
        ['flakey', `${leg()} 0 ${r.int(3)} ${r.int(3)}`],
        ['delay', `${leg()} 0 ${r.int(20)}`],
        ['linear', r.pick(['', '1', 'a b c', '/dev/loop2 -1', '/dev/loop2 99999999999999999999', '\\', '"'])],
        [r.pick(['nosuch', '', 'x'.repeat(20), '__proto__']), ''],
      ]);
      out.push({ start: r.chance(0.9) ? start : r.pick([0, 1, -1, 2 ** 53]), length: r.chance(0.95) ? length : r.pick([-1, 2 ** 53 + 2, 2 ** 40]), type, params });
      start += length;
    }
    return out;
  }

  private sector(): number | bigint {
    const r = this.rng;
    return r.pick<number | bigint>([0, 1, 7, 8, 1024, 2047, 2048, 4096, 2 ** 32, 2 ** 53 - 1, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n]);
  }

  /** A known operation with random but well-typed arguments (never touching the kept device or its loop devices). */
  validRequest(): { head: { op: string; args?: Record<string, unknown> }; payload: Buffer | null } {
    const r = this.rng;
    const q = (op: string, args?: Record<string, unknown>, payload: Buffer | null = null) => ({ head: { op, args }, payload });
    const bool = () => r.chance(0.5);
    switch (r.int(30)) {
      case 0: return q(r.pick(['version', 'listDevices', 'listVersions', 'nodeList', 'loopList', 'ping', 'patches']));
      case 1: return q('targetVersion', { name: r.pick(['linear', 'mirror', 'nosuch', '__proto__', 'toString', '']) });
      case 2: case 3: return q('devCreate', { name: r.pick(NAMES), uuid: r.chance(0.5) ? r.pick(UUIDS) : undefined, minor: r.chance(0.2) ? r.pick([1, 2, 3, 5, this.ctx.keepMinor, 1 << 20, -1]) : undefined });
      case 4: return q('devRemove', { ref: this.ref(), deferred: bool() });
      case 5: return q('devRename', { ref: { name: r.pick(NAMES) }, newValue: r.pick([...NAMES, ...UUIDS, KEEP.name, KEEP.uuid]), setUuid: bool() });
      case 6: return q('devSuspend', { ref: this.ref(), noflush: bool() });
      case 7: case 8: return q('devResume', { ref: this.ref(), noflush: bool() });
      case 9: return q('devStatus', { ref: this.ref(), inactive: bool() });
      case 10: return q('devStatusEach', { refs: Array.from({ length: r.int(5) }, () => this.ref()), inactive: bool() });
      case 11: return q('devWait', { ref: this.ref(), eventNr: r.int(3) });
      case 12: case 13: case 14: return q('tableLoad', { ref: this.ref(), targets: r.chance(0.05) ? [] : this.table(), readOnly: r.chance(0.2) });
      case 15: return q('tableClear', { ref: this.ref() });
      case 16: return q('tableDeps', { ref: this.ref(), inactive: bool() });
      case 17: return q('tableStatus', { ref: this.ref(), type: r.pick(['info', 'table', 'ima']), inactive: bool() });
      case 18: return q('targetMessage', { ref: this.ref(), sector: this.sector(), message: r.pick(['', 'x', '@cancel_deferred_remove', '@stats_list', '@stats_create - /1', 'flush', '1 2 3', ' '.repeat(5)]) });
      case 19: return q(r.pick(['nodeAdd', 'nodeRemove', 'readAhead']), { name: r.pick(NAMES) });
      case 20: return q('nodeRename', { from: r.pick(NAMES), to: r.pick(NAMES) });
      case 21: return q('statPath', { path: this.dev() });
      case 22: return q('devName', { major: r.pick([0, 7, 254, 4095, -1]), minor: r.pick([0, 1, 2, 3, 9, -1, 2 ** 31]) });
      case 23: {
        const file = r.pick([...this.ctx.files, path.join(this.ctx.dir, 'missing'), this.ctx.dir, '/dev/zero', '']);
        return q('loopAttach', { number: r.chance(0.7) ? r.pick([...FUZZ_LOOPS, 4, 5, 15, 16, 1 << 20, ...KEEP_LOOPS]) : undefined, file, readOnly: bool() });
      }
      case 24: return q('loopDetach', { number: r.pick([...FUZZ_LOOPS, 4, 15, 16, -1, 2 ** 40]) });
      case 25: return q('loopExists', { number: r.pick([0, 2, 16, -1]) });
      case 26: case 27: {
        const bs = r.pick([512, 4096, 65536, 1 << 20]);
        return q('ioWrite', { dev: this.dev(), sector: this.sector(), bs, buffered: r.chance(0.3) }, r.bytes(r.pick([0, 512, 4096, 8192, 1000])));
      }
      case 28: return q('ioRead', { dev: this.dev(), sector: this.sector(), count: r.pick([0, 1, 8, 64, 4096]), bs: r.pick([512, 4096, 65536]), buffered: r.chance(0.3) });
      default: return q('dmesg', { clear: false });
    }
  }
}

const OPS_WITH_ARGS = ['devCreate', 'devRemove', 'tableLoad', 'ioWrite', 'ioRead', 'targetMessage', 'loopAttach', 'devStatusEach', 'nodeRename'];
