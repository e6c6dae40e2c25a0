// /sys/block as readdir lists it: kernfs keeps a directory's entries in an
// rbtree ordered by kernfs_name_hash (then name), and kernfs_fop_readdir
// walks that tree, so the order is the hashes' (loop1 before loop2 before
// loop0 on 6.1), not the devices' numbers. util-linux's losetup walks loop
// devices in this order (loopcxt_next_from_sysfs).

import type { Kernel } from './kernel.js';

const GOLDEN_RATIO_64 = 0x61c8864680b583ebn;
const U64 = (1n << 64n) - 1n;
const INT_MAX = 0x7fffffff;

/**
 * kernfs_name_hash(name, ns) for ns NULL: partial_name_hash over the bytes
 * from init_name_hash(0), end_name_hash (hash_long to 32 bits, 64-bit
 * kernel), 31 bits, with 0, 1 and INT_MAX kept for the directory's . and .. and its end.
 */
export function kernfsNameHash(name: string): number {
  let hash = 0n;
  for (const byte of Buffer.from(name, 'utf8')) {
    const c = BigInt(byte);
    hash = ((hash + (c << 4n) + (c >> 4n)) * 11n) & U64;
  }
  let h = Number(((hash * GOLDEN_RATIO_64) & U64) >> 32n) & INT_MAX;
  if (h < 2) h += 2;
  if (h >= INT_MAX) h = INT_MAX - 1;
  return h;
}

/** kernfs_sd_compare: by hash, then by name. */
export function kernfsOrder(names: readonly string[]): string[] {
  const keyed = names.map((name) => ({ name, hash: kernfsNameHash(name) }));
  keyed.sort((a, b) => a.hash - b.hash || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return keyed.map((k) => k.name);
}

/** The entries of /sys/block (every gendisk: loop devices and dm-N), in readdir order. */
export function sysBlockReaddir(k: Kernel): string[] {
  return kernfsOrder([...k.loopDevices().map((l) => l.diskName), ...k.dmIoctl.devices().filter((md) => md.hasDisk).map((md) => md.diskName)]);
}
