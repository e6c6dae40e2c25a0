// dmsetup-ts io: I/O on a block device of the emulated kernel from the shell,
// as `dd oflag=direct` / `iflag=direct` would do it on Linux.
//   io write DEV SECTOR [COUNT] [--bs BYTES] [--buffered]   stdin -> device (COUNT sectors, or all of stdin)
//   io read DEV SECTOR COUNT [--bs BYTES] [--buffered]      device -> stdout
// Each block of --bs bytes (default 1 MiB, a multiple of 512) is one bio, in order;
// the first failing one ends the command with exit status 1. --buffered goes
// through the page cache instead (kernel/blkdev-pagecache.ts), as dd does
// without O_DIRECT, or with oflag=direct and an unaligned buffer (busybox's
// for bs=512): reads before partial writes, readahead, write-back at close
// whose errors the writer never sees.

import { strerror, isErrno } from '../kernel/errno.js';
import { KernelClient } from './client.js';

const USAGE = 'Usage: dmsetup-ts io write DEVICE SECTOR [COUNT] [--bs BYTES] [--direct|--buffered]\n       dmsetup-ts io read DEVICE SECTOR COUNT [--bs BYTES] [--direct|--buffered]\n';

function readAllStdin(limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    process.stdin.on('data', (c: Buffer) => { chunks.push(c); n += c.length; if (n >= limit) process.stdin.pause(); });
    process.stdin.on('end', () => resolve(Buffer.concat(chunks)));
    process.stdin.on('error', reject);
    if (limit === 0) resolve(Buffer.alloc(0));
  });
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
  const num = (s: string | undefined) => (s !== undefined && /^[0-9]+$/.test(s) ? Number(s) : NaN);
  const sector = num(sectorArg);
  const count = countArg === undefined ? undefined : num(countArg);
  if ((verb !== 'write' && verb !== 'read') || !dev || Number.isNaN(sector) || (count !== undefined && Number.isNaN(count)) ||
      (verb === 'read' && count === undefined) || !(bs >= 512 && bs % 512 === 0) || pos.length > 4) {
    process.stderr.write(USAGE);
    return 1;
  }
  const client = await KernelClient.connect().catch((e: Error) => e);
  if (client instanceof Error) {
    process.stderr.write(`dmsetup-ts io: cannot reach the emulated kernel: ${client.message}\n`);
    return 1;
  }
  try {
    if (verb === 'write') {
      let data = await readAllStdin(count === undefined ? Infinity : count * 512);
      if (count !== undefined) {
        if (data.length < count * 512) data = Buffer.concat([data, Buffer.alloc(count * 512 - data.length)]);
        data = data.subarray(0, count * 512);
      } else if (data.length % 512) {
        data = Buffer.concat([data, Buffer.alloc(512 - (data.length % 512))]);
      }
      const r = (await client.call<{ bytes: number; error?: string }>('ioWrite', { dev, sector, bs, buffered }, data)).result;
      if (r.error) {
        process.stderr.write(`dmsetup-ts io: ${dev}: write at sector ${sector + r.bytes / 512}: ${isErrno(r.error) ? strerror(r.error) : r.error}\n`);
        return 1;
      }
      return 0;
    }
    const reply = await client.call<{ bytes: number; error?: string }>('ioRead', { dev, sector, count, bs, buffered });
    if (reply.payload) process.stdout.write(reply.payload);
    if (reply.result.error) {
      process.stderr.write(`dmsetup-ts io: ${dev}: read at sector ${sector + reply.result.bytes / 512}: ${isErrno(reply.result.error) ? strerror(reply.result.error) : reply.result.error}\n`);
      return 1;
    }
    return 0;
  } catch (e) {
    process.stderr.write(`dmsetup-ts io: ${dev}: ${(e as Error).message}\n`);
    return 1;
  } finally {
    client.close();
  }
}
