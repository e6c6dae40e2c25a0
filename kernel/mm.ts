// The emulated machine's memory as vmalloc sees it: totalram_pages of the
// oracle's VM (512 MiB, less what firmware and the kernel image reserve), the
// size check __vmalloc_node_range makes before it looks for pages, and the
// pages live vmalloc areas hold (a request the machine has no pages for fails,
// as it does on a real kernel once reclaim gives up; nothing is killed).

export const PAGE_SHIFT = 12;

/** totalram_pages() on the oracle: its MemTotal (468416 kB of a 512 MiB VM), in 4 KiB pages. */
export const TOTALRAM_PAGES = 117_104;

/** The vmalloc areas of one kernel, by their page counts. */
export class Vmalloc {
  private usedPages = 0;

  /** Pages a size needs (PAGE_ALIGN). */
  private static pages(size: number): number { return Math.ceil(size / (1 << PAGE_SHIFT)); }

  /** vmalloc(size): true if the area could be had (the caller then owns size bytes). */
  alloc(size: number): boolean {
    const pages = Vmalloc.pages(size);
    // "vmalloc error: size %lu, exceeds total pages"
    if (!size || pages > TOTALRAM_PAGES) return false;
    if (this.usedPages + pages > TOTALRAM_PAGES) return false;
    this.usedPages += pages;
    return true;
  }

  /** vfree of an area alloc granted. */
  free(size: number): void {
    if (size) this.usedPages = Math.max(0, this.usedPages - Vmalloc.pages(size));
  }
}
