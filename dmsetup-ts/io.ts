// dmsetup-ts io: I/O on a block device of the emulated kernel from the shell,
// as `dd oflag=direct` / `iflag=direct` would do it on Linux.
//   io write DEV SECTOR [COUNT] [--bs BYTES] [--buffered]   stdin -> device (COUNT sectors, or all of stdin)
//   io read DEV SECTOR COUNT [--bs BYTES] [--buffered]      device -> stdout
//   io stat NAME   the block-layer counters of the dm device NAME (/sys/block/dm-N/stat):
//                  reads N (S sectors) writes N (S sectors) in flight N
// Each block of --bs bytes (default 1 MiB, a multiple of 512) is one bio, in order;
// the first failing one ends the command with exit status 1. --buffered goes
// through the page cache instead (kernel/blkdev-pagecache.ts), as dd does
// without O_DIRECT, or with oflag=direct and an unaligned buffer (busybox's
// for bs=512): reads before partial writes, readahead, write-back at close
// whose errors the writer never sees.

import { strerror, isErrno } from '../kernel/errno.js';
import { KernelClient } from './client.js';

export const usage = 'Usage: dmsetup-ts io write DEVICE SECTOR [COUNT] [--bs BYTES] [--direct|--buffered]\n       dmsetup-ts io read DEVICE SECTOR COUNT [--bs BYTES] [--direct|--buffered]\n       dmsetup-ts io stat NAME\n';

/** Direct I/O goes to the kernel in requests of this size, so a large copy streams. */
const REQUEST_BYTES = 8 << 20;

/**
 * Standard input in pieces of `size` bytes (the last may be shorter), at most
 * `limit` bytes in all, zero-padded to `limit` when given, else to a sector.
 */
async function* stdinPieces(size: number, limit: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let have = 0, total = 0;
  const take = (n: number): Buffer => {
    const all = Buffer.concat(pending, have);
    pending = all.length > n ? [all.subarray(n)] : [];
    have = all.length - Math.min(n, all.length);
    return all.subarray(0, n);
  };
  if (limit > 0) {
    for await (const c of process.stdin as AsyncIterable<Buffer>) {
      pending.push(c);
      have += c.length;
      while (have >= size && total < limit) {
        const piece = take(Math.min(size, limit - total));
        total += piece.length;
        yield piece;
      }
      if (total >= limit) break;
    }
  }
  let rest = take(Math.min(have, limit - total));
  total += rest.length;
  const pad = Number.isFinite(limit) ? limit - total : (512 - (total % 512)) % 512;
  if (pad > 0) rest = Buffer.concat([rest, Buffer.alloc(pad)]);
  for (let i = 0; i < rest.length; i += size) yield rest.subarray(i, i + size);
}

export async function main(argv: string[]): Promise<number> {
  let bs = 1 << 20;
  let buffered = false;
  const pos: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--buffered') buffered = true;
    else if (a === '--direct') buffered = false;
    else if (a === '--bs') bs = Number(argv[++i]);
    else if (a.startsWith('--bs=')) bs = Number(a.slice(5));
    else pos.push(a);
  }
  const [verb, dev, sectorArg, countArg] = pos;
  if (verb === 'stat') return stat(pos);
  const num = (s: string | undefined) => (s !== undefined && /^[0-9]+$/.test(s) ? Number(s) : NaN);
  // A sector_t: exact as a bigint past 2^53 (the kernel answers for sectors past the device's end).
  const sector = num(sectorArg);
  const sectorExact = Number.isNaN(sector) ? 0n : BigInt(sectorArg!);
  /** The sector done bytes after the first: a number while exact, else a bigint. */
  const at = (done: number): number | bigint => {
    const s = sectorExact + BigInt(done / 512);
    return s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s;
  };
  const count = countArg === undefined ? undefined : num(countArg);
  if ((verb !== 'write' && verb !== 'read') || !dev || Number.isNaN(sector) || (count !== undefined && Number.isNaN(count)) ||
      (verb === 'read' && count === undefined) || !(bs >= 512 && bs % 512 === 0) || pos.length > 4) {
    process.stderr.write(usage);
    return 1;
  }
  if (sectorExact >= 1n << 64n) {
    process.stderr.write(`dmsetup-ts io: sector ${sectorArg}: past the largest sector_t (2^64 - 1)\n`);
    return 1;
  }
  const client = await KernelClient.connect().catch((e: Error) => e);
  if (client instanceof Error) {
    process.stderr.write(`dmsetup-ts io: cannot reach the emulated kernel: ${client.message}\n`);
    return 1;
  }
  try {
    const failed = (what: string, where: number | bigint, error: string) => {
      process.stderr.write(`dmsetup-ts io: ${dev}: ${what} at sector ${where}: ${isErrno(error) ? strerror(error) : error}\n`);
      return 1;
    };
    // Buffered I/O is one open..close of the device (its write-back happens at
    // the close), so it is one request; direct I/O streams in requests.
    const request = buffered ? Infinity : Math.max(bs, Math.floor(REQUEST_BYTES / bs) * bs);
    if (verb === 'write') {
      let done = 0;
      for await (const piece of stdinPieces(request, count === undefined ? Infinity : count * 512)) {
        const r = (await client.call<{ bytes: number; error?: string }>('ioWrite', { dev, sector: at(done), bs, buffered }, piece)).result;
        if (r.error) return failed('write', at(done + r.bytes), r.error);
        done += piece.length;
      }
      return 0;
    }
    for (let done = 0; done < count! * 512;) {
      const n = Math.min(request, count! * 512 - done);
      const reply = await client.call<{ bytes: number; error?: string }>('ioRead', { dev, sector: at(done), count: n / 512, bs, buffered });
      if (reply.payload && !process.stdout.write(reply.payload)) await new Promise((r) => process.stdout.once('drain', r));
      if (reply.result.error) return failed('read', at(done + reply.result.bytes), reply.result.error);
      if (reply.result.bytes < n) break; // the end of the device
      done += n;
    }
    return 0;
  } catch (e) {
    process.stderr.write(`dmsetup-ts io: ${dev}: ${(e as Error).message}\n`);
    return 1;
  } finally {
    client.close();
  }
}

/** io stat NAME: the dm device's disk counters, as the cluster oracle's dm_stat prints them. */
async function stat(pos: string[]): Promise<number> {
  if (pos.length !== 2) { process.stderr.write(usage); return 1; }
  const name = pos[1]!;
  const client = await KernelClient.connect().catch((e: Error) => e);
  if (client instanceof Error) {
    process.stderr.write(`dmsetup-ts io: cannot reach the emulated kernel: ${client.message}\n`);
    return 1;
  }
  try {
    const s = (await client.call<{ ios: [number, number]; sectors: [number, number]; inFlight: [number, number] }>('diskStat', { name })).result;
    process.stdout.write(`reads ${s.ios[0]} (${s.sectors[0]} sectors) writes ${s.ios[1]} (${s.sectors[1]} sectors) in flight ${s.inFlight[0] + s.inFlight[1]}\n`);
    return 0;
  } catch (e) {
    const errno = (e as { errno?: unknown }).errno;
    process.stderr.write(`dmsetup-ts io: ${name}: ${typeof errno === 'string' && isErrno(errno) ? strerror(errno) : (e as Error).message}\n`);
    return 1;
  } finally {
    client.close();
  }
}
