// The wire format between the CLI and the kernel process: frames of a JSON
// header and an optional binary payload, over a Unix stream socket.
//   u32be json length | json | u32be payload length | payload
// A bigint (a sector_t: table geometry, message sectors) travels as
// {"$u64": "decimal"} and comes back a bigint.

export interface Request { op: string; args?: Record<string, unknown> }
export interface Response { ok: boolean; result?: unknown; errno?: string; message?: string }
export interface Frame<T> { head: T; payload: Buffer | null }

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

export function encodeFrame(head: unknown, payload: Buffer | null = null): Buffer {
  const text = headText(head);
  const jlen = Buffer.byteLength(text);
  const plen = payload ? payload.length : 0;
  // Header, JSON and payload length in one buffer; the payload joined only when there is one.
  const frame = Buffer.allocUnsafe(8 + jlen + (plen && plen <= INLINE_PAYLOAD ? plen : 0));
  frame.writeUInt32BE(jlen, 0);
  frame.write(text, 4, 'utf8');
  frame.writeUInt32BE(plen, 4 + jlen);
  if (!plen) return frame;
  if (plen <= INLINE_PAYLOAD) {
    payload!.copy(frame, 8 + jlen);
    return frame;
  }
  return Buffer.concat([frame, payload!]);
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
