/**
 * gzip (RFC 1952) with a DEFLATE encoder of our own: greedy LZ77 and the fixed Huffman codes
 * (RFC 1951 3.2.6). The user data that carries it must keep every byte for the life of a VM, since a
 * changed byte updates or replaces it; zlib's output is only stable for one zlib build, and Node
 * upgrades its bundled one. This encoder's output depends on its input and this file alone.
 */

const WINDOW = 32 * 1024;
const MIN_MATCH = 3;
const MAX_MATCH = 258;
/** How many earlier positions with the same three bytes are tried: enough for scripts and YAML. */
const MAX_CHAIN = 128;

const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

class BitWriter {
  private readonly bytes: number[] = [];
  private acc = 0;
  private count = 0;

  /** `n` bits of `value`, least significant first (header fields and extra bits). */
  bits(value: number, n: number): void {
    for (let i = 0; i < n; i++) this.push((value >>> i) & 1);
  }

  /** A Huffman code of `n` bits, most significant first, as DEFLATE stores codes. */
  code(value: number, n: number): void {
    for (let i = n - 1; i >= 0; i--) this.push((value >>> i) & 1);
  }

  private push(bit: number): void {
    this.acc |= bit << this.count;
    if (++this.count === 8) {
      this.bytes.push(this.acc);
      this.acc = 0;
      this.count = 0;
    }
  }

  finish(): Buffer {
    if (this.count > 0) this.bytes.push(this.acc);
    return Buffer.from(this.bytes);
  }
}

function literalCode(w: BitWriter, symbol: number): void {
  if (symbol < 144) w.code(0x30 + symbol, 8);
  else if (symbol < 256) w.code(0x190 + symbol - 144, 9);
  else if (symbol < 280) w.code(symbol - 256, 7);
  else w.code(0xc0 + symbol - 280, 8);
}

function lastIndexAtMost(table: readonly number[], value: number): number {
  let i = table.length - 1;
  while ((table[i] as number) > value) i--;
  return i;
}

function writeMatch(w: BitWriter, length: number, distance: number): void {
  const li = lastIndexAtMost(LENGTH_BASE, length);
  literalCode(w, 257 + li);
  w.bits(length - (LENGTH_BASE[li] as number), LENGTH_EXTRA[li] as number);
  const di = lastIndexAtMost(DIST_BASE, distance);
  w.code(di, 5);
  w.bits(distance - (DIST_BASE[di] as number), DIST_EXTRA[di] as number);
}

/** Raw DEFLATE: one final block with the fixed codes; a match is put off by one byte when the next is longer (lazy matching). */
export function deflateFixed(data: Uint8Array): Buffer {
  const w = new BitWriter();
  w.bits(1, 1); // BFINAL
  w.bits(1, 2); // BTYPE 01: fixed Huffman codes
  const head = new Map<number, number>();
  const prev = new Int32Array(data.length).fill(-1);
  const key = (i: number): number => ((data[i] as number) << 16) | ((data[i + 1] as number) << 8) | (data[i + 2] as number);
  let indexed = 0;
  /** Chains every position before `end` (each once, in order). */
  const indexTo = (end: number): void => {
    for (; indexed < end && indexed + MIN_MATCH <= data.length; indexed++) {
      const k = key(indexed);
      prev[indexed] = head.get(k) ?? -1;
      head.set(k, indexed);
    }
  };
  const longest = (i: number): [length: number, distance: number] => {
    if (i + MIN_MATCH > data.length) return [0, 0];
    indexTo(i);
    let best: [number, number] = [0, 0];
    let candidate = head.get(key(i)) ?? -1;
    for (let tries = 0; candidate >= 0 && i - candidate <= WINDOW && tries < MAX_CHAIN; tries++, candidate = prev[candidate] as number) {
      let length = 0;
      const limit = Math.min(MAX_MATCH, data.length - i);
      while (length < limit && data[candidate + length] === data[i + length]) length++;
      if (length > best[0]) best = [length, i - candidate];
      if (length === limit) break;
    }
    return best;
  };
  let i = 0;
  let next: [number, number] | undefined;
  while (i < data.length) {
    const [length, distance] = next ?? longest(i);
    next = undefined;
    if (length >= MIN_MATCH) {
      next = longest(i + 1);
      if (length >= next[0]) {
        writeMatch(w, length, distance);
        i += length;
        next = undefined;
        continue;
      }
    }
    literalCode(w, data[i] as number);
    i++;
  }
  literalCode(w, 256);
  return w.finish();
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) c = (CRC_TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A gzip member: no name, no timestamp (so the same text gives the same bytes), OS "unknown". */
export function gzip(text: string | Uint8Array): Buffer {
  const data = typeof text === "string" ? Buffer.from(text, "utf8") : text;
  const header = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(data.length >>> 0, 4);
  return Buffer.concat([header, deflateFixed(data), trailer]);
}
