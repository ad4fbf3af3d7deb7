// Raw DEFLATE (RFC 1951) decoder: tiny-inflate 1.0.3 by Devon Govett (MIT, LICENSE-tiny-inflate.txt;
// a port of Joergen Ibsen's tinf), changed for lutplug's .nlut reader so that a hostile stream
// cannot hang or allocate without bound:
//  - an ES module; the output starts after an optional preset dictionary (RFC 1950 FDICT) that
//    back-references may reach into;
//  - the output is capped (an error past `cap` bytes), grows by doubling up to the cap;
//  - reading past the input, invalid codes, over-long code-length runs, distances before the
//    start and bad stored-block lengths are errors; the byte after the stream is returned.
const OK = 0;

function Tree() {
  this.table = new Uint16Array(16); // code length counts
  this.trans = new Uint16Array(288); // code -> symbol
}

const sltree = new Tree(), sdtree = new Tree();
const lengthBits = new Uint8Array(30), lengthBase = new Uint16Array(30);
const distBits = new Uint8Array(30), distBase = new Uint16Array(30);
const clcidx = new Uint8Array([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);
const codeTree = new Tree();
const lengths = new Uint8Array(288 + 32);
const offs = new Uint16Array(16);

function fail(msg) { throw new Error('DEFLATE stream is invalid: ' + msg); }

function buildBitsBase(bits, base, delta, first) {
  let i, sum;
  for (i = 0; i < delta; ++i) bits[i] = 0;
  for (i = 0; i < 30 - delta; ++i) bits[i + delta] = i / delta | 0;
  for (sum = first, i = 0; i < 30; ++i) { base[i] = sum; sum += 1 << bits[i]; }
}

function buildFixedTrees(lt, dt) {
  let i;
  for (i = 0; i < 7; ++i) lt.table[i] = 0;
  lt.table[7] = 24; lt.table[8] = 152; lt.table[9] = 112;
  for (i = 0; i < 24; ++i) lt.trans[i] = 256 + i;
  for (i = 0; i < 144; ++i) lt.trans[24 + i] = i;
  for (i = 0; i < 8; ++i) lt.trans[24 + 144 + i] = 280 + i;
  for (i = 0; i < 112; ++i) lt.trans[24 + 144 + 8 + i] = 144 + i;
  for (i = 0; i < 5; ++i) dt.table[i] = 0;
  dt.table[5] = 32;
  for (i = 0; i < 32; ++i) dt.trans[i] = i;
}

function buildTree(t, lens, off, num) {
  let i, sum;
  for (i = 0; i < 16; ++i) t.table[i] = 0;
  for (i = 0; i < num; ++i) t.table[lens[off + i]]++;
  t.table[0] = 0;
  for (sum = 0, i = 0; i < 16; ++i) { offs[i] = sum; sum += t.table[i]; }
  for (i = 0; i < num; ++i) if (lens[off + i]) t.trans[offs[lens[off + i]]++] = i;
}

class Data {
  constructor(source, start, end, dict, cap) {
    this.source = source; this.index = start; this.end = end;
    this.tag = 0; this.bitcount = 0; this.over = 0;
    this.base = dict ? dict.length : 0;
    this.cap = this.base + cap;
    this.dest = new Uint8Array(Math.min(this.cap, this.base + 4096));
    if (dict) this.dest.set(dict);
    this.len = this.base;
    this.ltree = new Tree(); this.dtree = new Tree();
  }
  byte() {
    if (this.index < this.end) return this.source[this.index++];
    this.index++;
    if (++this.over > 4) fail('truncated');
    return 0;
  }
  room(n) {
    const need = this.len + n;
    if (need > this.cap) throw new Error('DEFLATE stream inflates beyond ' + (this.cap - this.base) + ' bytes');
    if (need > this.dest.length) {
      const grown = new Uint8Array(Math.min(this.cap, Math.max(need, this.dest.length * 2)));
      grown.set(this.dest.subarray(0, this.len));
      this.dest = grown;
    }
  }
}

function getbit(d) {
  if (!d.bitcount--) { d.tag = d.byte(); d.bitcount = 7; }
  const bit = d.tag & 1;
  d.tag >>>= 1;
  return bit;
}

function readBits(d, num, base) {
  if (!num) return base;
  while (d.bitcount < 24) { d.tag |= d.byte() << d.bitcount; d.bitcount += 8; }
  const val = d.tag & (0xffff >>> (16 - num));
  d.tag >>>= num; d.bitcount -= num;
  return val + base;
}

function decodeSymbol(d, t) {
  while (d.bitcount < 24) { d.tag |= d.byte() << d.bitcount; d.bitcount += 8; }
  let sum = 0, cur = 0, len = 0, tag = d.tag;
  do {
    cur = 2 * cur + (tag & 1);
    tag >>>= 1;
    if (++len > 15) fail('invalid Huffman code');
    sum += t.table[len];
    cur -= t.table[len];
  } while (cur >= 0);
  d.tag = tag; d.bitcount -= len;
  return t.trans[sum + cur];
}

function decodeTrees(d, lt, dt) {
  const hlit = readBits(d, 5, 257), hdist = readBits(d, 5, 1), hclen = readBits(d, 4, 4);
  if (hlit > 286 || hdist > 30) fail('too many length or distance codes');
  let i, num, length;
  for (i = 0; i < 19; ++i) lengths[i] = 0;
  for (i = 0; i < hclen; ++i) lengths[clcidx[i]] = readBits(d, 3, 0);
  buildTree(codeTree, lengths, 0, 19);
  for (num = 0; num < hlit + hdist;) {
    const sym = decodeSymbol(d, codeTree);
    let fill = 0;
    if (sym === 16) {
      if (!num) fail('repeat with no previous length');
      fill = lengths[num - 1]; length = readBits(d, 2, 3);
    } else if (sym === 17) length = readBits(d, 3, 3);
    else if (sym === 18) length = readBits(d, 7, 11);
    else if (sym < 16) { lengths[num++] = sym; continue; }
    else fail('invalid code length symbol');
    if (num + length > hlit + hdist) fail('code lengths overflow');
    for (; length; --length) lengths[num++] = fill;
  }
  buildTree(lt, lengths, 0, hlit);
  buildTree(dt, lengths, hlit, hdist);
}

function inflateBlockData(d, lt, dt) {
  for (;;) {
    let sym = decodeSymbol(d, lt);
    if (sym === 256) return OK;
    if (sym < 256) { d.room(1); d.dest[d.len++] = sym; continue; }
    sym -= 257;
    if (sym > 28) fail('invalid length symbol');
    const length = readBits(d, lengthBits[sym], lengthBase[sym]);
    const dist = decodeSymbol(d, dt);
    if (dist > 29) fail('invalid distance symbol');
    const from = d.len - readBits(d, distBits[dist], distBase[dist]);
    if (from < 0) fail('distance too far back');
    d.room(length);
    const dest = d.dest;
    for (let i = from; i < from + length; ++i) dest[d.len++] = dest[i];
  }
}

function inflateStored(d) {
  while (d.bitcount > 8) { d.index--; d.bitcount -= 8; }
  if (d.index + 4 > d.end) fail('truncated');
  const s = d.source, at = d.index;
  const length = s[at] | (s[at + 1] << 8), inv = s[at + 2] | (s[at + 3] << 8);
  if (length !== (~inv & 0xffff)) fail('stored block length');
  d.index += 4;
  if (d.index + length > d.end) fail('truncated');
  d.room(length);
  d.dest.set(s.subarray(d.index, d.index + length), d.len);
  d.len += length; d.index += length;
  d.bitcount = 0;
  return OK;
}

/**
 * Inflate the raw DEFLATE stream at source[start..end): at most `cap` bytes of output after the
 * optional preset dictionary `dict`. Returns {out, next}: the output (without the dictionary) and
 * the index of the first byte after the stream. Throws Error on anything invalid.
 */
export function inflateRaw(source, start, end, cap, dict) {
  const d = new Data(source, start, end, dict, cap);
  let bfinal;
  do {
    bfinal = getbit(d);
    const btype = readBits(d, 2, 0);
    if (btype === 0) inflateStored(d);
    else if (btype === 1) inflateBlockData(d, sltree, sdtree);
    else if (btype === 2) { decodeTrees(d, d.ltree, d.dtree); inflateBlockData(d, d.ltree, d.dtree); }
    else fail('invalid block type');
  } while (!bfinal);
  const next = d.index - (d.bitcount >> 3);
  if (next > end) fail('truncated');
  return { out: d.dest.slice(d.base, d.len), next };
}

buildFixedTrees(sltree, sdtree);
buildBitsBase(lengthBits, lengthBase, 4, 3);
buildBitsBase(distBits, distBase, 2, 1);
lengthBits[28] = 0;
lengthBase[28] = 258;
