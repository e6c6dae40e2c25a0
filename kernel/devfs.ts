// The /dev/mapper directory as libdevmapper keeps it without udev: nodes are
// made on resume, removed on remove, renamed on rename; `mknodes` repairs.
// Kept by the kernel process because the emulation has no real /dev.
//
// /dev is a devtmpfs, so a program may make a regular file there: busybox dd
// of=/dev/mapper/NAME with no such device creates one (O_CREAT; with
// oflag=direct the open then fails, tmpfs having no O_DIRECT in 6.1). The file
// stays until something unlinks it, and libdm will not make a node over it.

export class DevFs {
  private readonly nodes = new Set<string>();
  /** Regular files in /dev/mapper, with their contents. */
  private readonly files = new Map<string, Buffer>();

  /** A block device node of that name. */
  has(name: string): boolean { return this.nodes.has(name); }
  /** A regular file of that name. */
  isFile(name: string): boolean { return this.files.has(name); }
  /** mknod: false when the node was there already. */
  add(name: string): boolean {
    if (this.nodes.has(name)) return false;
    this.nodes.add(name);
    return true;
  }
  /** unlink (a node or a file): false when there was none. */
  remove(name: string): boolean { return this.nodes.delete(name) || this.files.delete(name); }
  /** rename(2) over whatever is at `to`: false when there was nothing to rename. */
  rename(from: string, to: string): boolean {
    const file = this.files.get(from);
    if (!this.nodes.has(from) && !file) return false;
    this.nodes.delete(to);
    this.files.delete(to);
    if (file) {
      this.files.delete(from);
      this.files.set(to, file);
    } else {
      this.nodes.delete(from);
      this.nodes.add(to);
    }
    return true;
  }
  /** open(O_CREAT) of a name with no node: the file (made empty if new), or undefined over a node. */
  creat(name: string): Buffer | undefined {
    if (this.nodes.has(name)) return undefined;
    let f = this.files.get(name);
    if (!f) this.files.set(name, (f = Buffer.alloc(0)));
    return f;
  }
  /** A regular file's contents. */
  readFile(name: string): Buffer | undefined { return this.files.get(name); }
  /** A regular file's new contents (a write to one that is gone is lost, as to an unlinked file). */
  writeFile(name: string, data: Buffer): void { if (this.files.has(name)) this.files.set(name, data); }
  list(): string[] { return [...this.nodes, ...this.files.keys()].sort(); }
}
