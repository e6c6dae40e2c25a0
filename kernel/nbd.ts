// An NBD server for the kernel's block devices (what qemu-nbd or nbdkit would
// be on a machine with /dev/mapper): the fixed newstyle handshake, export
// names that are device names, and each request turned into bios on the
// device, as a program doing O_DIRECT I/O on /dev/mapper/NAME would send them.

import * as fs from 'node:fs';
import * as net from 'node:net';
import { Bio, ReqOp, REQ_FUA, REQ_PREFLUSH, SECTOR_SIZE, submitBio, type BlkStatus } from './bio.js';
import { bdevReadOnly, type BlockDevice } from './block.js';
import type { Kernel } from './kernel.js';
import { refused, type ConnectionGuard } from './server.js';
import {
  IHAVEOPT, NBDMAGIC, NBD_CMD_FLAG_FUA, NBD_EINVAL, NBD_EIO, NBD_ENOMEM, NBD_ENOSPC, NBD_ENOTSUP, NBD_EOVERFLOW, NBD_EPERM,
  NBD_FLAG_CAN_MULTI_CONN, NBD_FLAG_C_FIXED_NEWSTYLE, NBD_FLAG_C_NO_ZEROES, NBD_FLAG_FIXED_NEWSTYLE, NBD_FLAG_HAS_FLAGS,
  NBD_FLAG_NO_ZEROES, NBD_FLAG_READ_ONLY, NBD_FLAG_SEND_FLUSH, NBD_FLAG_SEND_FUA, NBD_FLAG_SEND_TRIM, NBD_FLAG_SEND_WRITE_ZEROES,
  NBD_INFO_BLOCK_SIZE, NBD_INFO_EXPORT, NBD_INFO_NAME, NBD_OPT_REPLY_MAGIC, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR,
  NBD_REPLY_TYPE_NONE, NBD_REPLY_TYPE_OFFSET_DATA, NBD_REP_ACK, NBD_REP_ERR_INVALID, NBD_REP_ERR_UNKNOWN, NBD_REP_ERR_UNSUP,
  NBD_REP_INFO, NBD_REP_SERVER, NBD_REQUEST_MAGIC, NBD_REQUEST_SIZE, NBD_SIMPLE_REPLY_MAGIC, NBD_STRUCTURED_REPLY_MAGIC,
  NbdCmd, NbdOpt,
} from './nbd-proto.js';

/** The socket's name in the runtime directory. */
export const NBD_SOCKET_NAME = 'nbd.sock';
/** Largest READ/WRITE payload (NBD_INFO_BLOCK_SIZE maximum). */
export const NBD_MAX_PAYLOAD = 32 << 20;
/** Preferred request size: the page size, as the block layer would advertise. */
const PREFERRED_BLOCK = 4096;
/** A direct I/O request is cut into bios of at most BIO_MAX_VECS pages. */
const BIO_MAX_BYTES = 256 * 4096;
/** Option data longer than this is not read (names are at most 4096 bytes). */
const MAX_OPTION_DATA = 64 << 10;
/** Requests served at once on one connection before reading more. */
const MAX_INFLIGHT = 64;
/** Bytes read ahead of the request parser before the socket is paused. */
const READ_HIGH_WATER = 64 << 20;

const ZERO_PAGE_RUN = Buffer.alloc(BIO_MAX_BYTES);

/** The NBD error for a bio's status. */
export function nbdErrorOf(status: BlkStatus): number {
  switch (status) {
    case 0: return 0;
    case 'EPERM': case 'EROFS': case 'EACCES': return NBD_EPERM;
    case 'ENOMEM': return NBD_ENOMEM;
    case 'EINVAL': return NBD_EINVAL;
    case 'ENOSPC': return NBD_ENOSPC;
    case 'EOVERFLOW': return NBD_EOVERFLOW;
    case 'EOPNOTSUPP': return NBD_ENOTSUP;
    default: return NBD_EIO;
  }
}

/** Bytes from a socket, handed out in exact lengths; null once it ends short. */
class SocketReader {
  private chunks: Buffer[] = [];
  private have = 0;
  private want = 0;
  private waiter: ((b: Buffer | null) => void) | null = null;
  private ended = false;
  private paused = false;

  constructor(private readonly sock: net.Socket) {
    sock.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.have += c.length;
      if (this.have > READ_HIGH_WATER && !this.paused) { this.paused = true; sock.pause(); }
      this.wake();
    });
    const end = () => { this.ended = true; this.wake(); };
    sock.on('end', end);
    sock.on('close', end);
  }

  read(n: number): Promise<Buffer | null> {
    if (this.have >= n) return Promise.resolve(this.take(n));
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => { this.want = n; this.waiter = resolve; });
  }

  private wake(): void {
    const w = this.waiter;
    if (!w) return;
    if (this.have >= this.want) { this.waiter = null; w(this.take(this.want)); }
    else if (this.ended) { this.waiter = null; w(null); }
  }

  private take(n: number): Buffer {
    let out: Buffer;
    const first = this.chunks[0];
    if (first && first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - at);
        c.copy(out, at, 0, k);
        at += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.have -= n;
    if (this.paused && this.have < READ_HIGH_WATER / 2) { this.paused = false; this.sock.resume(); }
    return out;
  }
}

/** A protocol violation: the connection is closed. */
class NbdProtocolError extends Error {}

interface Export { bdev: BlockDevice; name: string; readOnly: boolean }

/**
 * Submit a request's bios (each at most BIO_MAX_BYTES) at once, as
 * __blkdev_direct_IO does; resolves to the first error, or 0. Without data,
 * the bios carry zero pages (a discard's or a zeroout's: only their size matters).
 */
export function submitRange(op: ReqOp, bdev: BlockDevice, sector: number, bytes: number, data: Buffer | null, flags: number): Promise<BlkStatus> {
  return new Promise((resolve) => {
    let pending = 1;
    let status: BlkStatus = 0;
    const done = (b: Bio) => {
      if (b.status && !status) status = b.status;
      if (--pending === 0) resolve(status);
    };
    for (let off = 0; off < bytes; off += BIO_MAX_BYTES) {
      const len = Math.min(BIO_MAX_BYTES, bytes - off);
      const payload = data ? data.subarray(off, off + len) : ZERO_PAGE_RUN.subarray(0, len);
      pending++;
      submitBio(new Bio(op, bdev, sector + off / SECTOR_SIZE, payload, done, flags));
    }
    if (--pending === 0) resolve(status);
  });
}

/** One client connection: the handshake, then transmission until it ends. */
class NbdConnection {
  private readonly rd: SocketReader;
  private noZeroes = false;
  private structured = false;
  private exp: Export | null = null;
  private inflight = 0;
  private slotFree: (() => void) | null = null;
  private idle: (() => void) | null = null;

  constructor(private readonly server: NbdServer, private readonly sock: net.Socket) {
    this.rd = new SocketReader(sock);
    sock.on('error', () => undefined);
  }

  async run(): Promise<void> {
    try {
      if (await this.handshake()) await this.transmission();
    } catch (e) {
      if (!(e instanceof NbdProtocolError)) this.server.kernel.klog.printk('err', `nbd: internal error: ${(e as Error)?.message ?? e}`);
    } finally {
      await this.drain();
      if (this.exp) this.exp.bdev.close();
      this.exp = null;
      this.sock.destroy();
    }
  }

  private send(b: Buffer): void { if (!this.sock.destroyed) this.sock.write(b); }

  private async need(n: number): Promise<Buffer> {
    const b = await this.rd.read(n);
    if (!b) throw new NbdProtocolError('connection closed');
    return b;
  }

  // ---- the handshake ------------------------------------------------------

  /** Fixed newstyle negotiation; true when transmission begins. */
  private async handshake(): Promise<boolean> {
    const hello = Buffer.alloc(18);
    hello.writeBigUInt64BE(NBDMAGIC, 0);
    hello.writeBigUInt64BE(IHAVEOPT, 8);
    hello.writeUInt16BE(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES, 16);
    this.send(hello);
    const cflags = (await this.need(4)).readUInt32BE(0);
    // Unknown client flags: the spec says close.
    if (cflags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) return false;
    this.noZeroes = (cflags & NBD_FLAG_C_NO_ZEROES) !== 0;
    const fixed = (cflags & NBD_FLAG_C_FIXED_NEWSTYLE) !== 0;
    for (;;) {
      const h = await this.need(16);
      if (h.readBigUInt64BE(0) !== IHAVEOPT) return false; // bad magic: nothing more can be trusted
      const opt = h.readUInt32BE(8);
      const len = h.readUInt32BE(12);
      if (len > MAX_OPTION_DATA) {
        // Not read: the rest of the stream is unknown, so the connection ends.
        if (fixed) this.optReply(opt, NBD_REP_ERR_INVALID, Buffer.from('option data too long'));
        return false;
      }
      const data = len ? await this.need(len) : Buffer.alloc(0);
      switch (opt) {
        case NbdOpt.EXPORT_NAME: {
          const exp = this.lookup(data.toString('utf8'));
          if (!exp) return false; // no way to say why with this option
          this.begin(exp);
          const tail = Buffer.alloc(this.noZeroes ? 10 : 134);
          tail.writeBigUInt64BE(BigInt(exp.bdev.sizeSectors() * SECTOR_SIZE), 0);
          tail.writeUInt16BE(this.transmissionFlags(exp), 8);
          this.send(tail);
          return true;
        }
        case NbdOpt.ABORT:
          this.optReply(opt, NBD_REP_ACK);
          this.sock.end();
          return false;
        case NbdOpt.LIST: {
          if (len) { this.optReply(opt, NBD_REP_ERR_INVALID, Buffer.from('LIST takes no data')); break; }
          for (const name of this.server.exportNames()) {
            const n = Buffer.from(name);
            const d = Buffer.alloc(4 + n.length);
            d.writeUInt32BE(n.length, 0);
            n.copy(d, 4);
            this.optReply(opt, NBD_REP_SERVER, d);
          }
          this.optReply(opt, NBD_REP_ACK);
          break;
        }
        case NbdOpt.STRUCTURED_REPLY:
          if (len) { this.optReply(opt, NBD_REP_ERR_INVALID, Buffer.from('STRUCTURED_REPLY takes no data')); break; }
          this.structured = true;
          this.optReply(opt, NBD_REP_ACK);
          break;
        case NbdOpt.INFO:
        case NbdOpt.GO:
          if (this.infoOrGo(opt, data)) return true;
          break;
        default:
          this.optReply(opt, NBD_REP_ERR_UNSUP, Buffer.from(`option ${opt} not supported`));
      }
    }
  }

  private optReply(opt: number, type: number, data: Buffer = Buffer.alloc(0)): void {
    const h = Buffer.alloc(20);
    h.writeBigUInt64BE(NBD_OPT_REPLY_MAGIC, 0);
    h.writeUInt32BE(opt, 8);
    h.writeUInt32BE(type, 12);
    h.writeUInt32BE(data.length, 16);
    this.send(data.length ? Buffer.concat([h, data]) : h);
  }

  /** NBD_OPT_INFO / NBD_OPT_GO: the export's size, flags, name and block sizes; GO starts transmission. */
  private infoOrGo(opt: number, data: Buffer): boolean {
    const bad = () => { this.optReply(opt, NBD_REP_ERR_INVALID, Buffer.from('malformed request')); return false; };
    if (data.length < 6) return bad();
    const nlen = data.readUInt32BE(0);
    if (4 + nlen + 2 > data.length) return bad();
    const name = data.toString('utf8', 4, 4 + nlen);
    const nreq = data.readUInt16BE(4 + nlen);
    if (data.length !== 4 + nlen + 2 + 2 * nreq) return bad();
    const requested = new Set<number>();
    for (let i = 0; i < nreq; i++) requested.add(data.readUInt16BE(6 + nlen + 2 * i));
    const exp = this.lookup(name);
    if (!exp) {
      this.optReply(opt, NBD_REP_ERR_UNKNOWN, Buffer.from(`${name}: no such device (or it has no table)`));
      return false;
    }
    const info = Buffer.alloc(12);
    info.writeUInt16BE(NBD_INFO_EXPORT, 0);
    info.writeBigUInt64BE(BigInt(exp.bdev.sizeSectors() * SECTOR_SIZE), 2);
    info.writeUInt16BE(this.transmissionFlags(exp), 10);
    this.optReply(opt, NBD_REP_INFO, info);
    if (requested.has(NBD_INFO_NAME)) {
      const n = Buffer.from(exp.name);
      const d = Buffer.alloc(2 + n.length);
      d.writeUInt16BE(NBD_INFO_NAME, 0);
      n.copy(d, 2);
      this.optReply(opt, NBD_REP_INFO, d);
    }
    // Sent whether asked for or not: requests must be whole sectors.
    const bs = Buffer.alloc(14);
    bs.writeUInt16BE(NBD_INFO_BLOCK_SIZE, 0);
    bs.writeUInt32BE(SECTOR_SIZE, 2);
    bs.writeUInt32BE(PREFERRED_BLOCK, 6);
    bs.writeUInt32BE(NBD_MAX_PAYLOAD, 10);
    this.optReply(opt, NBD_REP_INFO, bs);
    this.optReply(opt, NBD_REP_ACK);
    if (opt !== NbdOpt.GO) return false;
    this.begin(exp);
    return true;
  }

  private lookup(name: string): Export | null {
    const bdev = this.server.device(name);
    if (!bdev || bdev.sizeSectors() === 0) return null;
    return { bdev, name, readOnly: bdevReadOnly(bdev) };
  }

  /** The export is opened, as a program opening /dev/mapper/NAME would (the open count shows it). */
  private begin(exp: Export): void {
    exp.bdev.open();
    this.exp = exp;
  }

  private transmissionFlags(exp: Export): number {
    let f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | NBD_FLAG_CAN_MULTI_CONN;
    if (exp.readOnly) f |= NBD_FLAG_READ_ONLY;
    else f |= NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES;
    return f;
  }

  // ---- transmission -------------------------------------------------------

  private async transmission(): Promise<void> {
    const exp = this.exp!;
    for (;;) {
      if (this.inflight >= MAX_INFLIGHT) await new Promise<void>((r) => { this.slotFree = r; });
      const h = await this.rd.read(NBD_REQUEST_SIZE);
      if (!h) return; // the client went away
      if (h.readUInt32BE(0) !== NBD_REQUEST_MAGIC) return; // out of step: close
      const flags = h.readUInt16BE(4);
      const type = h.readUInt16BE(6);
      const cookie = Buffer.from(h.subarray(8, 16));
      const offHi = h.readUInt32BE(16), offLo = h.readUInt32BE(20);
      const length = h.readUInt32BE(24);
      // Offsets past 2^53 cannot be on any device: make them past the end.
      const offset = offHi >= 0x200000 ? Number.MAX_SAFE_INTEGER : offHi * 2 ** 32 + offLo;
      const sizeBytes = exp.bdev.sizeSectors() * SECTOR_SIZE;
      const aligned = offset % SECTOR_SIZE === 0 && length % SECTOR_SIZE === 0;
      const inRange = offset + length <= sizeBytes;
      switch (type) {
        case NbdCmd.READ: {
          if (length > NBD_MAX_PAYLOAD) { this.error(cookie, NBD_EOVERFLOW, 'read longer than the maximum block size'); break; }
          if (!inRange) { this.error(cookie, NBD_EINVAL, 'read past the end of the device'); break; }
          if (!aligned) { this.error(cookie, NBD_EINVAL, 'read not aligned to 512 bytes'); break; }
          const buf = Buffer.allocUnsafe(length);
          this.start(submitRange(ReqOp.READ, exp.bdev, offset / SECTOR_SIZE, length, buf, 0), (st) => {
            if (st) this.error(cookie, nbdErrorOf(st), `read: ${st}`);
            else this.data(cookie, offset, buf);
          });
          break;
        }
        case NbdCmd.WRITE: {
          if (length > NBD_MAX_PAYLOAD) {
            // The payload is not read, so the stream is out of step: reply and close.
            this.error(cookie, NBD_EOVERFLOW, 'write longer than the maximum block size');
            return;
          }
          const data = await this.rd.read(length);
          if (!data) return; // disconnect mid-write: nothing is written
          if (exp.readOnly) { this.error(cookie, NBD_EPERM, 'the device is read-only'); break; }
          if (!inRange) { this.error(cookie, NBD_ENOSPC, 'write past the end of the device'); break; }
          if (!aligned) { this.error(cookie, NBD_EINVAL, 'write not aligned to 512 bytes'); break; }
          const bflags = flags & NBD_CMD_FLAG_FUA ? REQ_FUA : 0;
          this.start(submitRange(ReqOp.WRITE, exp.bdev, offset / SECTOR_SIZE, length, data, bflags), (st) => this.done(cookie, st, 'write'));
          break;
        }
        case NbdCmd.FLUSH: {
          const flush = new Promise<BlkStatus>((resolve) =>
            submitBio(new Bio(ReqOp.FLUSH, exp.bdev, 0, Buffer.alloc(0), (b) => resolve(b.status), REQ_PREFLUSH)));
          this.start(flush, (st) => this.done(cookie, st, 'flush'));
          break;
        }
        case NbdCmd.TRIM:
        case NbdCmd.WRITE_ZEROES: {
          if (exp.readOnly) { this.error(cookie, NBD_EPERM, 'the device is read-only'); break; }
          if (!inRange) { this.error(cookie, NBD_ENOSPC, 'request past the end of the device'); break; }
          if (!aligned) { this.error(cookie, NBD_EINVAL, 'request not aligned to 512 bytes'); break; }
          const bflags = flags & NBD_CMD_FLAG_FUA ? REQ_FUA : 0;
          // TRIM is a discard bio; WRITE_ZEROES writes zero pages (blkdev_issue_zeroout's fallback:
          // no target here supports REQ_OP_WRITE_ZEROES).
          const op = type === NbdCmd.TRIM ? ReqOp.DISCARD : ReqOp.WRITE;
          this.start(submitRange(op, exp.bdev, offset / SECTOR_SIZE, length, null, bflags), (st) => this.done(cookie, st, type === NbdCmd.TRIM ? 'trim' : 'write zeroes'));
          break;
        }
        case NbdCmd.DISC:
          await this.drain();
          this.sock.end();
          return;
        default:
          this.error(cookie, NBD_EINVAL, `command ${type} not supported`);
      }
    }
  }

  private start(p: Promise<BlkStatus>, then: (st: BlkStatus) => void): void {
    this.inflight++;
    void p.then((st) => {
      try { then(st); } catch { this.sock.destroy(); }
      this.inflight--;
      const s = this.slotFree;
      if (s) { this.slotFree = null; s(); }
      if (this.inflight === 0 && this.idle) { const i = this.idle; this.idle = null; i(); }
    });
  }

  private drain(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((r) => { this.idle = r; });
  }

  private done(cookie: Buffer, st: BlkStatus, what: string): void {
    if (st) { this.error(cookie, nbdErrorOf(st), `${what}: ${st}`); return; }
    if (!this.structured) { this.simple(cookie, 0); return; }
    this.send(this.chunkHeader(cookie, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE, 0));
  }

  private data(cookie: Buffer, offset: number, buf: Buffer): void {
    if (this.sock.destroyed) return;
    this.sock.cork();
    if (!this.structured) this.simple(cookie, 0);
    else {
      const h = this.chunkHeader(cookie, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA, 8 + buf.length, 8);
      h.writeUInt32BE(Math.floor(offset / 2 ** 32), 20);
      h.writeUInt32BE(offset >>> 0, 24);
      this.sock.write(h);
    }
    this.sock.write(buf);
    this.sock.uncork();
  }

  private error(cookie: Buffer, errno: number, message: string): void {
    if (!this.structured) { this.simple(cookie, errno); return; }
    const msg = Buffer.from(message);
    const h = this.chunkHeader(cookie, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, 6 + msg.length, 6 + msg.length);
    h.writeUInt32BE(errno, 20);
    h.writeUInt16BE(msg.length, 24);
    msg.copy(h, 26);
    this.send(h);
  }

  private simple(cookie: Buffer, errno: number): void {
    const h = Buffer.allocUnsafe(16);
    h.writeUInt32BE(NBD_SIMPLE_REPLY_MAGIC, 0);
    h.writeUInt32BE(errno, 4);
    cookie.copy(h, 8);
    this.send(h);
  }

  /** A structured reply chunk's 20-byte header, with room for `extra` bytes of payload after it. */
  private chunkHeader(cookie: Buffer, flags: number, type: number, length: number, extra = 0): Buffer {
    const h = Buffer.alloc(20 + extra);
    h.writeUInt32BE(NBD_STRUCTURED_REPLY_MAGIC, 0);
    h.writeUInt16BE(flags, 4);
    h.writeUInt16BE(type, 6);
    cookie.copy(h, 8);
    h.writeUInt32BE(length, 16);
    return h;
  }
}

/** The kernel's NBD server: a Unix socket, and TCP ports on 127.0.0.1 on request. */
export class NbdServer {
  private readonly servers: net.Server[] = [];
  private readonly conns = new Set<net.Socket>();
  private unixPath: string | null = null;
  private tcpPort: number | null = null;

  constructor(readonly kernel: Kernel) {}

  /** The device an export name names: a mapped device's name, or a /dev path. */
  device(name: string): BlockDevice | undefined {
    return name.startsWith('/dev/') ? this.kernel.lookupDevPath(name) : this.kernel.dmIoctl.deviceByName(name);
  }

  /** NBD_OPT_LIST: every mapped device with a table. */
  exportNames(): string[] {
    return this.kernel.dmIoctl.devices().filter((md) => md.sizeSectors() > 0).map((md) => md.name).sort();
  }

  get socketPath(): string | null { return this.unixPath; }
  get port(): number | null { return this.tcpPort; }

  /** Asked on every connection (kernel/server.ts): why the export must refuse it, or null. */
  guard: ConnectionGuard | undefined;

  private make(): net.Server {
    const srv = net.createServer((sock) => {
      if (refused(this.kernel, sock, this.guard)) return;
      this.conns.add(sock);
      sock.on('close', () => this.conns.delete(sock));
      new NbdConnection(this, sock).run().catch(() => sock.destroy());
    });
    srv.on('error', () => undefined);
    this.servers.push(srv);
    return srv;
  }

  /** Listen on a Unix socket (replacing a stale one). */
  async listenUnix(sockPath: string): Promise<void> {
    if (this.unixPath) return;
    try { fs.unlinkSync(sockPath); } catch { /* none */ }
    const srv = this.make();
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(sockPath, () => { srv.off('error', reject); resolve(); });
    });
    fs.chmodSync(sockPath, 0o600); // owner-only whatever the umask was
    this.unixPath = sockPath;
  }

  /** Listen on 127.0.0.1:port (0: any free port); resolves to the port. */
  async listenTcp(port: number): Promise<number> {
    if (this.tcpPort !== null) {
      if (port === 0 || port === this.tcpPort) return this.tcpPort;
      throw new Error(`already listening on 127.0.0.1:${this.tcpPort}`);
    }
    const srv = this.make();
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => { srv.off('error', reject); resolve(); });
    });
    this.tcpPort = (srv.address() as net.AddressInfo).port;
    return this.tcpPort;
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.destroy();
    await Promise.all(this.servers.splice(0).map((s) => new Promise((r) => s.close(r))));
    if (this.unixPath) { try { fs.unlinkSync(this.unixPath); } catch { /* gone */ } }
    this.unixPath = null;
    this.tcpPort = null;
  }
}

const servers = new WeakMap<Kernel, NbdServer>();

/** The kernel's one NBD server (created on first use). */
export function nbdServer(kernel: Kernel): NbdServer {
  let s = servers.get(kernel);
  if (!s) { s = new NbdServer(kernel); servers.set(kernel, s); }
  return s;
}
