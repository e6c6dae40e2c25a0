// Registered types by name, listed as the kernel lists them: most recently
// registered first (list_add on registration).

export class Registry<T extends { readonly name: string }> {
  private items: T[] = [];

  register(item: T): void {
    if (this.get(item.name)) throw new Error(`${item.name} already registered`);
    this.items.unshift(item);
  }

  unregister(name: string): void {
    this.items = this.items.filter((i) => i.name !== name);
  }

  get(name: string): T | undefined {
    return this.items.find((i) => i.name === name);
  }

  list(): readonly T[] { return this.items; }
}
