/**
 * gzip (RFC 1952) with a DEFLATE encoder of our own: lazy LZ77 and Huffman codes made for the input
 * (RFC 1951 3.2.7), in one block. It packs the node agent into its vault secret (./agent.ts), whose
 * value must keep every byte from one machine to the next: a changed byte is a new secret version on
 * every node. zlib's output is only stable for one zlib build (Node bundles Chromium's, whose hashing
 * differs by CPU, and upgrades it), and gzip headers name the OS. This encoder's output depends on its
 * input and this file alone.
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

function lastIndexAtMost(table: readonly number[], value: number): number {
  let i = table.length - 1;
  while ((table[i] as number) > value) i--;
  return i;
}

type Token = { literal: number } | { length: number; distance: number };

/** LZ77 over the whole input: a match is put off by one byte when the next is longer (lazy matching). */
function tokens(data: Uint8Array): Token[] {
  const out: Token[] = [];
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
        out.push({ length, distance });
        i += length;
        next = undefined;
        continue;
      }
    }
    out.push({ literal: data[i] as number });
    i++;
  }
  return out;
}

/**
 * Huffman code lengths for `freq` (0 for an unused symbol), none above `limit`: the optimal lengths,
 * then, if any is too long, zlib's repair (trees/gen_bitlen) of the count per length. Ties are broken
 * by symbol, so the same frequencies always give the same lengths.
 */
export function codeLengths(freq: readonly number[], limit: number): number[] {
  const lengths = new Array<number>(freq.length).fill(0);
  const used = freq.flatMap((f, s) => (f > 0 ? [s] : []));
  if (used.length === 0) return lengths;
  if (used.length === 1) {
    lengths[used[0] as number] = 1;
    return lengths;
  }
  type Node = { weight: number; order: number; symbols: number[] };
  let nodes: Node[] = used.map((s) => ({ weight: freq[s] as number, order: s, symbols: [s] }));
  let order = freq.length;
  while (nodes.length > 1) {
    nodes.sort((x, y) => x.weight - y.weight || x.order - y.order);
    const [x, y] = nodes as [Node, Node];
    for (const s of [...x.symbols, ...y.symbols]) lengths[s] = (lengths[s] as number) + 1;
    nodes = [{ weight: x.weight + y.weight, order: order++, symbols: [...x.symbols, ...y.symbols] }, ...nodes.slice(2)];
  }
  if (Math.max(...lengths) <= limit) return lengths;
  // Clamp the long codes to the limit, then shorten the Kraft sum back to one unit at a time: each step drops one code
  // at the limit and splits the longest shorter code into two one bit longer (the number of codes stays the same).
  const count = new Array<number>(limit + 1).fill(0);
  for (const s of used) {
    const l = Math.min(lengths[s] as number, limit);
    count[l] = (count[l] as number) + 1;
  }
  let kraft = 0;
  for (let bits = 1; bits <= limit; bits++) kraft += (count[bits] as number) * 2 ** (limit - bits);
  while (kraft > 2 ** limit) {
    count[limit] = (count[limit] as number) - 1;
    let bits = limit - 1;
    while (count[bits] === 0) bits--;
    count[bits] = (count[bits] as number) - 1;
    count[bits + 1] = (count[bits + 1] as number) + 2;
    kraft--;
  }
  // The most frequent symbols take the shortest lengths.
  const byUse = [...used].sort((x, y) => (freq[y] as number) - (freq[x] as number) || x - y);
  let bits = 1;
  for (const s of byUse) {
    while (count[bits] === 0) bits++;
    lengths[s] = bits;
    count[bits] = (count[bits] as number) - 1;
  }
  return lengths;
}

/** Canonical codes for code lengths (RFC 1951 3.2.2). */
function canonicalCodes(lengths: readonly number[]): number[] {
  const max = Math.max(0, ...lengths);
  const count = new Array<number>(max + 1).fill(0);
  for (const l of lengths) if (l > 0) count[l] = (count[l] as number) + 1;
  const next = new Array<number>(max + 2).fill(0);
  let code = 0;
  for (let bits = 1; bits <= max; bits++) {
    code = (code + (count[bits - 1] as number)) << 1;
    next[bits] = code;
  }
  return lengths.map((l) => {
    if (l === 0) return 0;
    const c = next[l] as number;
    next[l] = c + 1;
    return c;
  });
}

const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** Code lengths as the code-length alphabet writes them: [symbol, extra bits value] with runs folded (16, 17, 18). */
function runLengths(lengths: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < lengths.length; ) {
    const l = lengths[i] as number;
    let run = 1;
    while (i + run < lengths.length && lengths[i + run] === l) run++;
    if (l === 0 && run >= 3) {
      const n = Math.min(run, 138);
      out.push(n >= 11 ? [18, n - 11] : [17, n - 3]);
      i += n;
    } else if (l !== 0 && run >= 4) {
      out.push([l, 0]);
      const n = Math.min(run - 1, 6);
      out.push([16, n - 3]);
      i += 1 + n;
    } else {
      out.push([l, 0]);
      i++;
    }
  }
  return out;
}

/** Raw DEFLATE: the whole input in one final block with Huffman codes made for it (BTYPE 10). */
export function deflate(data: Uint8Array): Buffer {
  const toks = tokens(data);
  const litFreq: number[] = new Array<number>(286).fill(0);
  const distFreq: number[] = new Array<number>(30).fill(0);
  for (const t of toks) {
    if ("literal" in t) litFreq[t.literal] = (litFreq[t.literal] as number) + 1;
    else {
      const li = 257 + lastIndexAtMost(LENGTH_BASE, t.length);
      litFreq[li] = (litFreq[li] as number) + 1;
      const di = lastIndexAtMost(DIST_BASE, t.distance);
      distFreq[di] = (distFreq[di] as number) + 1;
    }
  }
  litFreq[256] = 1;
  // A block without matches still describes one distance code.
  if (!distFreq.some((f) => f > 0)) distFreq[0] = 1;
  const litLengths = codeLengths(litFreq, 15);
  const distLengths = codeLengths(distFreq, 15);
  const litCodes = canonicalCodes(litLengths);
  const distCodes = canonicalCodes(distLengths);
  let hlit = 286;
  while (hlit > 257 && litLengths[hlit - 1] === 0) hlit--;
  let hdist = 30;
  while (hdist > 1 && distLengths[hdist - 1] === 0) hdist--;
  const runs = runLengths([...litLengths.slice(0, hlit), ...distLengths.slice(0, hdist)]);
  const clFreq = new Array<number>(19).fill(0);
  for (const [sym] of runs) clFreq[sym] = (clFreq[sym] as number) + 1;
  const clLengths = codeLengths(clFreq, 7);
  const clCodes = canonicalCodes(clLengths);
  let hclen = 19;
  while (hclen > 4 && clLengths[CODE_LENGTH_ORDER[hclen - 1] as number] === 0) hclen--;

  const w = new BitWriter();
  w.bits(1, 1); // BFINAL
  w.bits(2, 2); // BTYPE 10: dynamic Huffman codes
  w.bits(hlit - 257, 5);
  w.bits(hdist - 1, 5);
  w.bits(hclen - 4, 4);
  for (let i = 0; i < hclen; i++) w.bits(clLengths[CODE_LENGTH_ORDER[i] as number] as number, 3);
  for (const [sym, extra] of runs) {
    w.code(clCodes[sym] as number, clLengths[sym] as number);
    if (sym === 16) w.bits(extra, 2);
    else if (sym === 17) w.bits(extra, 3);
    else if (sym === 18) w.bits(extra, 7);
  }
  const lit = (sym: number): void => w.code(litCodes[sym] as number, litLengths[sym] as number);
  for (const t of toks) {
    if ("literal" in t) {
      lit(t.literal);
      continue;
    }
    const li = lastIndexAtMost(LENGTH_BASE, t.length);
    lit(257 + li);
    w.bits(t.length - (LENGTH_BASE[li] as number), LENGTH_EXTRA[li] as number);
    const di = lastIndexAtMost(DIST_BASE, t.distance);
    w.code(distCodes[di] as number, distLengths[di] as number);
    w.bits(t.distance - (DIST_BASE[di] as number), DIST_EXTRA[di] as number);
  }
  lit(256);
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
  return Buffer.concat([header, deflate(data), trailer]);
}
