// The wire format between the CLI and the kernel process: frames of a JSON
// header and an optional binary payload, over a Unix stream socket.
//   u32be json length | json | u32be payload length | payload

export interface Request { op: string; args?: Record<string, unknown> }
export interface Response { ok: boolean; result?: unknown; errno?: string; message?: string }
export interface Frame<T> { head: T; payload: Buffer | null }

export function encodeFrame(head: unknown, payload: Buffer | null = null): Buffer {
  const json = Buffer.from(JSON.stringify(head));
  const hdr = Buffer.allocUnsafe(4);
  hdr.writeUInt32BE(json.length);
  const plen = Buffer.allocUnsafe(4);
  plen.writeUInt32BE(payload ? payload.length : 0);
  return payload && payload.length ? Buffer.concat([hdr, json, plen, payload]) : Buffer.concat([hdr, json, plen]);
}

/** Accumulates bytes from a stream and yields whole frames. */
export class FrameReader<T> {
  private chunks: Buffer[] = [];
  private have = 0;

  push(chunk: Buffer): Frame<T>[] {
    this.chunks.push(chunk);
    this.have += chunk.length;
    const out: Frame<T>[] = [];
    for (;;) {
      const f = this.next();
      if (!f) break;
      out.push(f);
    }
    return out;
  }

  private next(): Frame<T> | null {
    if (this.have < 8) return null;
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [buf];
    const jlen = buf.readUInt32BE(0);
    if (buf.length < 4 + jlen + 4) return null;
    const plen = buf.readUInt32BE(4 + jlen);
    const total = 8 + jlen + plen;
    if (buf.length < total) return null;
    const head = JSON.parse(buf.toString('utf8', 4, 4 + jlen)) as T;
    const payload = plen ? buf.subarray(8 + jlen, total) : null;
    const rest = buf.subarray(total);
    this.chunks = rest.length ? [rest] : [];
    this.have = rest.length;
    return { head, payload };
  }
}
