// The wire format between the CLI and the kernel process: frames of a JSON
// header and an optional binary payload, over a Unix stream socket.
//   u32be json length | json | u32be payload length | payload
// A bigint (a sector_t: table geometry, message sectors) travels as
// {"$u64": "decimal"} and comes back a bigint.

export interface Request { op: string; args?: Record<string, unknown> }
export interface Response { ok: boolean; result?: unknown; errno?: string; message?: string }
export interface Frame<T> { head: T; payload: Buffer | null }

const BIGINT_TAG = '$u64';

function replacer(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? { [BIGINT_TAG]: v.toString() } : v;
}

function reviver(_k: string, v: unknown): unknown {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const t = (v as Record<string, unknown>)[BIGINT_TAG];
    if (typeof t === 'string' && Object.keys(v).length === 1) return BigInt(t);
  }
  return v;
}

export function encodeFrame(head: unknown, payload: Buffer | null = null): Buffer {
  const json = Buffer.from(JSON.stringify(head, replacer));
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
    const jlen = this.front(4).readUInt32BE(0);
    if (this.have < 8 + jlen) return null;
    const plen = this.front(8 + jlen).readUInt32BE(4 + jlen);
    const total = 8 + jlen + plen;
    if (this.have < total) return null;
    // Join the chunks only once the whole frame is here (a payload may be hundreds of MiB).
    const buf = this.front(total);
    const text = buf.toString('utf8', 4, 4 + jlen);
    // Only a frame that carries a bigint pays for the reviver.
    const head = (text.includes(BIGINT_TAG) ? JSON.parse(text, reviver) : JSON.parse(text)) as T;
    const payload = plen ? buf.subarray(8 + jlen, total) : null;
    const rest = buf.subarray(total);
    this.chunks[0] = rest;
    if (!rest.length) this.chunks.shift();
    this.have -= total;
    return { head, payload };
  }

  /** The first chunk, grown by joining the following ones until it holds n bytes. */
  private front(n: number): Buffer {
    if (this.chunks[0]!.length < n) {
      let k = 1, len = this.chunks[0]!.length;
      while (len < n) len += this.chunks[k++]!.length;
      this.chunks.splice(0, k, Buffer.concat(this.chunks.slice(0, k), len));
    }
    return this.chunks[0]!;
  }
}
