// Little-endian bitsets over Uint32Array, as the dirty log keeps them
// (test_bit_le & co. on a little-endian host), with memweight and find_next_zero_bit.

export function testBit(bs: Uint32Array, bit: number): number {
  return (bs[bit >>> 5]! >>> (bit & 31)) & 1;
}

export function setBit(bs: Uint32Array, bit: number): void {
  bs[bit >>> 5]! |= 1 << (bit & 31);
}

export function clearBit(bs: Uint32Array, bit: number): void {
  bs[bit >>> 5]! &= ~(1 << (bit & 31));
}

/** Set or clear bits [from, to). */
export function fillBits(bs: Uint32Array, from: number, to: number, value: boolean): void {
  let i = from;
  while (i < to && (i & 31)) { value ? setBit(bs, i) : clearBit(bs, i); i++; }
  const words = (to - i) >>> 5;
  if (words > 0) { bs.fill(value ? 0xffffffff : 0, i >>> 5, (i >>> 5) + words); i += words << 5; }
  while (i < to) { value ? setBit(bs, i) : clearBit(bs, i); i++; }
}

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** memweight: bits set in the whole bitset. */
export function memweight(bs: Uint32Array): number {
  let n = 0;
  for (let i = 0; i < bs.length; i++) { const w = bs[i]!; if (w) n += w === 0xffffffff ? 32 : popcount32(w); }
  return n;
}

/** find_next_zero_bit_le: the first clear bit at or after offset, or size. */
export function findNextZeroBit(bs: Uint32Array, size: number, offset: number): number {
  let i = offset;
  while (i < size) {
    const w = bs[i >>> 5]! | ((1 << (i & 31)) - 1); // ignore bits below i in this word
    if (w !== -1 && w !== 0xffffffff) {
      const inv = ~w;
      const bit = (i & ~31) + (31 - Math.clz32(inv & -inv));
      return bit < size ? bit : size;
    }
    i = (i & ~31) + 32;
  }
  return size;
}
