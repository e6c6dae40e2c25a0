// The /dev/mapper directory as libdevmapper keeps it without udev: nodes are
// made on resume, removed on remove, renamed on rename; `mknodes` repairs.
// Kept by the kernel process because the emulation has no real /dev.

export class DevFs {
  private readonly nodes = new Set<string>();

  has(name: string): boolean { return this.nodes.has(name); }
  /** mknod: false when the node was there already. */
  add(name: string): boolean {
    if (this.nodes.has(name)) return false;
    this.nodes.add(name);
    return true;
  }
  /** unlink: false when there was none. */
  remove(name: string): boolean { return this.nodes.delete(name); }
  /** rename: false when there was none to rename. */
  rename(from: string, to: string): boolean {
    if (!this.nodes.delete(from)) return false;
    this.nodes.add(to);
    return true;
  }
  list(): string[] { return [...this.nodes].sort(); }
}
