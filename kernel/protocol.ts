// The wire format between the CLI and the kernel process: frames of a JSON
// header and an optional binary payload, over a Unix stream socket.
//   u32be json length | json | u32be payload length | payload
// A bigint (a sector_t: table geometry, message sectors) travels as
// {"$u64": "decimal"} and comes back a bigint.

export interface Request { op: string; args?: Record<string, unknown> }
export interface Response { ok: boolean; result?: unknown; errno?: string; message?: string }
/** bad: why the frame could not be read (its head is then undefined). */
export interface Frame<T> { head: T; payload: Buffer | null; bad?: string }

const BIGINT_TAG = '$u64';
/** Payloads up to this size are copied into the frame's one buffer (larger: one concat). */
const INLINE_PAYLOAD = 64 << 10;

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

/**
 * JSON text of a frame's header. A replacer function takes JSON.stringify off
 * its fast path (a big reply cost several times as much), so it is used only
 * for a header holding a bigint, which plain stringify refuses with a TypeError.
 */
function headText(head: unknown): string {
  try {
    return JSON.stringify(head);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    return JSON.stringify(head, replacer);
  }
}

/** A frame as buffers to write in order: one, or the header and a large payload as it is (never copied). */
export function frameBuffers(head: unknown, payload: Buffer | null = null): Buffer[] {
  const text = headText(head);
  const jlen = Buffer.byteLength(text);
  const plen = payload ? payload.length : 0;
  const inline = plen && plen <= INLINE_PAYLOAD ? plen : 0;
  // Header, JSON and payload length in one buffer; a small payload copied in after them.
  const frame = Buffer.allocUnsafe(8 + jlen + inline);
  frame.writeUInt32BE(jlen, 0);
  frame.write(text, 4, 'utf8');
  frame.writeUInt32BE(plen, 4 + jlen);
  if (inline) payload!.copy(frame, 8 + jlen);
  return plen && !inline ? [frame, payload!] : [frame];
}

export function encodeFrame(head: unknown, payload: Buffer | null = null): Buffer {
  const bufs = frameBuffers(head, payload);
  return bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs);
}

/** Writes a frame to a stream; a large payload goes out beside its header in one writev. */
export function writeFrame(out: { write(b: Buffer): boolean; cork(): void; uncork(): void }, head: unknown, payload: Buffer | null = null): void {
  const bufs = frameBuffers(head, payload);
  if (bufs.length === 1) { out.write(bufs[0]!); return; }
  out.cork();
  for (const b of bufs) out.write(b);
  out.uncork();
}

/**
 * The largest request head the kernel process reads (JSON text; a table's
 * lines travel in it): our own bound, below V8's longest string. A longer
 * head is skipped unread and the request refused.
 */
export const MAX_HEAD_BYTES = 256 << 20;
/** The largest payload of a request (the data of one write). */
export const MAX_PAYLOAD_BYTES = 1 << 30;

export interface FrameLimits { head: number; payload: number }

/**
 * Accumulates bytes from a stream and yields whole frames. With limits, a
 * frame too large or whose head is not JSON is yielded as {bad: why} (its
 * bytes skipped as they arrive, never held), and the stream goes on with the
 * next frame; without, such a frame throws.
 */
export class FrameReader<T> {
  private chunks: Buffer[] = [];
  private have = 0;
  /** Bytes of an over-limit frame still to skip; then its payload length (after a head), then the frame is done. */
  private skip = 0;
  private skipping: { why: string; then: 'payload-length' | 'done' } | null = null;

  constructor(private readonly limits?: FrameLimits) {}

  push(chunk: Buffer): Frame<T>[] {
    this.chunks.push(chunk);
    this.have += chunk.length;
    const out: Frame<T>[] = [];
    for (;;) {
      const f = this.next();
      if (!f) break;
      if (f.bad !== undefined && !this.limits) throw new Error(f.bad);
      out.push(f);
    }
    return out;
  }

  private next(): Frame<T> | null {
    if (this.skipping) return this.skipOn();
    if (this.have < 8) return null;
    const jlen = this.front(4).readUInt32BE(0);
    if (this.limits && jlen > this.limits.head) {
      this.drop(4);
      this.skip = jlen;
      this.skipping = { why: `request head of ${jlen} bytes (at most ${this.limits.head})`, then: 'payload-length' };
      return this.skipOn();
    }
    if (this.have < 8 + jlen) return null;
    const plen = this.front(8 + jlen).readUInt32BE(4 + jlen);
    if (this.limits && plen > this.limits.payload) {
      this.drop(8 + jlen);
      this.skip = plen;
      this.skipping = { why: `request payload of ${plen} bytes (at most ${this.limits.payload})`, then: 'done' };
      return this.skipOn();
    }
    const total = 8 + jlen + plen;
    if (this.have < total) return null;
    // Join the chunks only once the whole frame is here (a payload may be hundreds of MiB).
    const buf = this.front(total);
    const payload = plen ? buf.subarray(8 + jlen, total) : null;
    let head: T | undefined, bad: string | undefined;
    try {
      const text = buf.toString('utf8', 4, 4 + jlen);
      // Only a frame that carries a bigint pays for the reviver.
      head = (text.includes(BIGINT_TAG) ? JSON.parse(text, reviver) : JSON.parse(text)) as T;
    } catch (e) {
      bad = `request head is not JSON (${(e as Error).message})`;
    }
    this.drop(total);
    return bad === undefined ? { head: head as T, payload } : { head: undefined as T, payload: null, bad };
  }

  /** Go on skipping an over-limit frame; the frame once its last byte has gone by. */
  private skipOn(): Frame<T> | null {
    for (;;) {
      const n = Math.min(this.skip, this.have);
      if (n) this.drop(n);
      this.skip -= n;
      if (this.skip > 0) return null;
      const s = this.skipping!;
      if (s.then === 'done') {
        this.skipping = null;
        return { head: undefined as T, payload: null, bad: s.why };
      }
      if (this.have < 4) return null;
      this.skip = this.front(4).readUInt32BE(0);
      this.drop(4);
      s.then = 'done';
    }
  }

  /** Forget the first n bytes (all present). */
  private drop(n: number): void {
    this.have -= n;
    while (n > 0) {
      const c = this.chunks[0]!;
      if (c.length <= n) {
        n -= c.length;
        this.chunks.shift();
      } else {
        this.chunks[0] = c.subarray(n);
        n = 0;
      }
    }
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

/**
 * A big reply's list of records of one shape (1,000 devices' info, 10,000
 * names) as a table: the keys once, then each record's values in that order;
 * a string in the list (an errno) stays a string. A third of the JSON, parsed
 * several times faster. Asked for by the client (`packed: true`), so a client
 * from before gets the plain list.
 */
export interface PackedRecords { keys: string[]; rows: Array<unknown[] | string> }

/** The records as a table, or null when they are not all of one shape (then send them plain). */
export function packRecords(records: ReadonlyArray<object | string>): PackedRecords | null {
  const first = records.find((r) => typeof r !== 'string');
  const keys = first ? Object.keys(first) : [];
  const rows: Array<unknown[] | string> = [];
  for (const rec of records) {
    if (typeof rec === 'string') { rows.push(rec); continue; }
    const o = rec as Record<string, unknown>;
    const row = new Array<unknown>(keys.length);
    let n = 0;
    for (const k in o) {
      // Same keys in the same order, and no undefined (which plain JSON would drop from an object).
      if (k !== keys[n] || o[k] === undefined) return null;
      row[n++] = o[k];
    }
    if (n !== keys.length) return null;
    rows.push(row);
  }
  return { keys, rows };
}

/** The records again, as the plain list's JSON would have given them. */
export function unpackRecords<T>(p: PackedRecords): Array<T | string> {
  const { keys, rows } = p;
  return rows.map((row) => {
    if (typeof row === 'string') return row;
    const o: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) o[keys[i]!] = row[i];
    return o as T;
  });
}

/** A reply that may be packed (a kernel process from before answers with the plain list). */
export function isPacked(x: unknown): x is PackedRecords {
  return x !== null && typeof x === 'object' && !Array.isArray(x) && Array.isArray((x as PackedRecords).keys) && Array.isArray((x as PackedRecords).rows);
}
