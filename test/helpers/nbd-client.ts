// A raw NBD client for tests: speaks the wire format byte by byte, so tests
// can send what no real client would (bad magics, huge lengths, half a write).

import * as net from 'node:net';

export const IHAVEOPT = 0x49484156454f5054n;
export const REQUEST_MAGIC = 0x25609513;

export interface OptReply { opt: number; type: number; data: Buffer }
export interface Reply { errno: number; cookie: bigint; data: Buffer; structuredType?: number; message?: string }

export class RawNbdClient {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  closed = false;

  private constructor(readonly sock: net.Socket) {
    sock.on('data', (c: Buffer) => { this.buf = Buffer.concat([this.buf, c]); this.waiter?.(); });
    sock.on('close', () => { this.closed = true; this.waiter?.(); });
    sock.on('error', () => undefined);
  }

  static connect(where: string | number): Promise<RawNbdClient> {
    return new Promise((resolve, reject) => {
      const s = typeof where === 'number' ? net.connect(where, '127.0.0.1') : net.connect(where);
      s.once('connect', () => resolve(new RawNbdClient(s)));
      s.once('error', reject);
    });
  }

  /** Exactly n bytes, or null if the server closed first. */
  async read(n: number): Promise<Buffer | null> {
    while (this.buf.length < n) {
      if (this.closed) return null;
      await new Promise<void>((r) => { this.waiter = r; });
      this.waiter = null;
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Resolves true once the server has closed the connection (false: still open after ms). */
  closedWithin(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onClose = () => { clearTimeout(timer); resolve(true); };
      const timer = setTimeout(() => { this.sock.off('close', onClose); resolve(this.closed); }, ms);
      this.sock.once('close', onClose);
    });
  }

  write(b: Buffer): void { this.sock.write(b); }
  end(): void { this.sock.end(); }
  destroy(): void { this.sock.destroy(); }

  /** Read the server's greeting and send the client flags (fixed newstyle, no zeroes). */
  async hello(clientFlags = 3): Promise<{ magic: bigint; opt: bigint; flags: number }> {
    const h = (await this.read(18))!;
    const c = Buffer.alloc(4);
    c.writeUInt32BE(clientFlags);
    this.write(c);
    return { magic: h.readBigUInt64BE(0), opt: h.readBigUInt64BE(8), flags: h.readUInt16BE(16) };
  }

  sendOpt(opt: number, data: Buffer = Buffer.alloc(0), magic = IHAVEOPT): void {
    const h = Buffer.alloc(16);
    h.writeBigUInt64BE(magic, 0);
    h.writeUInt32BE(opt, 8);
    h.writeUInt32BE(data.length, 12);
    this.write(Buffer.concat([h, data]));
  }

  async optReply(): Promise<OptReply | null> {
    const h = await this.read(20);
    if (!h) return null;
    const len = h.readUInt32BE(16);
    const data = len ? (await this.read(len))! : Buffer.alloc(0);
    return { opt: h.readUInt32BE(8), type: h.readUInt32BE(12), data };
  }

  /** Option replies up to and including the first that is not NBD_REP_INFO/SERVER. */
  async optReplies(): Promise<OptReply[]> {
    const out: OptReply[] = [];
    for (;;) {
      const r = await this.optReply();
      if (!r) return out;
      out.push(r);
      if (r.type !== 2 && r.type !== 3) return out;
    }
  }

  static goData(name: string, infos: number[] = []): Buffer {
    const n = Buffer.from(name);
    const d = Buffer.alloc(4 + n.length + 2 + 2 * infos.length);
    d.writeUInt32BE(n.length, 0);
    n.copy(d, 4);
    d.writeUInt16BE(infos.length, 4 + n.length);
    infos.forEach((x, i) => d.writeUInt16BE(x, 6 + n.length + 2 * i));
    return d;
  }

  request(type: number, offset: number | bigint, length: number, opts: { flags?: number; cookie?: bigint; data?: Buffer; magic?: number } = {}): void {
    const h = Buffer.alloc(28);
    h.writeUInt32BE(opts.magic ?? REQUEST_MAGIC, 0);
    h.writeUInt16BE(opts.flags ?? 0, 4);
    h.writeUInt16BE(type, 6);
    h.writeBigUInt64BE(opts.cookie ?? 1n, 8);
    h.writeBigUInt64BE(BigInt(offset), 16);
    h.writeUInt32BE(length, 24);
    this.write(opts.data ? Buffer.concat([h, opts.data]) : h);
  }

  /** A simple reply; readLength: the data that follows a successful read. */
  async simpleReply(readLength = 0): Promise<Reply | null> {
    const h = await this.read(16);
    if (!h) return null;
    if (h.readUInt32BE(0) !== 0x67446698) throw new Error(`bad reply magic ${h.readUInt32BE(0).toString(16)}`);
    const errno = h.readUInt32BE(4);
    const data = !errno && readLength ? (await this.read(readLength))! : Buffer.alloc(0);
    return { errno, cookie: h.readBigUInt64BE(8), data };
  }

  /** One structured reply chunk. */
  async structuredReply(): Promise<(Reply & { flags: number }) | null> {
    const h = await this.read(20);
    if (!h) return null;
    if (h.readUInt32BE(0) !== 0x668e33ef) throw new Error(`bad structured reply magic ${h.readUInt32BE(0).toString(16)}`);
    const flags = h.readUInt16BE(4), type = h.readUInt16BE(6);
    const len = h.readUInt32BE(16);
    const p = len ? (await this.read(len))! : Buffer.alloc(0);
    const r = { flags, structuredType: type, cookie: h.readBigUInt64BE(8), errno: 0, data: Buffer.alloc(0) } as Reply & { flags: number };
    if (type === 1) r.data = p.subarray(8);
    if (type >= 0x8000) { r.errno = p.readUInt32BE(0); r.message = p.toString('utf8', 6, 6 + p.readUInt16BE(4)); }
    return r;
  }
}
