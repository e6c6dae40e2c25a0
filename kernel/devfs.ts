// The /dev/mapper directory as libdevmapper keeps it without udev: nodes are
// made on resume, removed on remove, renamed on rename; `mknodes` repairs.
// Kept by the kernel process because the emulation has no real /dev.

export class DevFs {
  private readonly nodes = new Set<string>();

  has(name: string): boolean { return this.nodes.has(name); }
  add(name: string): void { this.nodes.add(name); }
  remove(name: string): void { this.nodes.delete(name); }
  rename(from: string, to: string): void {
    if (this.nodes.delete(from)) this.nodes.add(to);
  }
  list(): string[] { return [...this.nodes].sort(); }
}
