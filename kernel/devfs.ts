// The /dev/mapper directory as libdevmapper keeps it without udev: nodes are
// made on resume, removed on remove, renamed on rename; `mknodes` repairs.
// Kept by the kernel process because the emulation has no real /dev.
//
// /dev is a devtmpfs, so a program may make a regular file there: busybox dd
// of=/dev/mapper/NAME with no such device creates one (O_CREAT; with
// oflag=direct the open then fails, tmpfs having no O_DIRECT in 6.1). The file
// stays until something unlinks it, and libdm will not make a node over it.

export class DevFs {
  /**
   * Each name: a block device node, or a regular file and its contents. In
   * the order the names came (a rename moves one to the end): tmpfs's
   * readdir lists the newest first.
   */
  private readonly entries = new Map<string, Buffer | 'node'>();

  /** A block device node of that name. */
  has(name: string): boolean { return this.entries.get(name) === 'node'; }
  /** A regular file of that name. */
  isFile(name: string): boolean { return Buffer.isBuffer(this.entries.get(name)); }
  /** mknod: false when the node was there already. */
  add(name: string): boolean {
    if (this.has(name)) return false;
    this.entries.set(name, 'node');
    return true;
  }
  /** unlink (a node or a file): false when there was none. */
  remove(name: string): boolean { return this.entries.delete(name); }
  /** rename(2) over whatever is at `to`: false when there was nothing to rename. */
  rename(from: string, to: string): boolean {
    const e = this.entries.get(from);
    if (e === undefined) return false;
    this.entries.delete(from);
    this.entries.delete(to);
    this.entries.set(to, e);
    return true;
  }
  /** open(O_CREAT) of a name with no node: the file (made empty if new), or undefined over a node. */
  creat(name: string): Buffer | undefined {
    const e = this.entries.get(name);
    if (e === 'node') return undefined;
    if (e) return e;
    const f = Buffer.alloc(0);
    this.entries.set(name, f);
    return f;
  }
  /** A regular file's contents. */
  readFile(name: string): Buffer | undefined {
    const e = this.entries.get(name);
    return Buffer.isBuffer(e) ? e : undefined;
  }
  /** A regular file's new contents (a write to one that is gone is lost, as to an unlinked file). */
  writeFile(name: string, data: Buffer): void { if (this.isFile(name)) this.entries.set(name, data); }
  /** The names, sorted. */
  list(): string[] { return [...this.entries.keys()].sort(); }
  /** The names in readdir order (dcache_readdir: the newest first). */
  readdir(): string[] { return [...this.entries.keys()].reverse(); }
}
