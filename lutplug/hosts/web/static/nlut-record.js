// .nlut format version 3: byte primitives and the description record (docs/nlut-format.md,
// "Version 3"), the JavaScript twin of lutplug/codec/wire.py, fieldcodecs.py, textcode.py and
// record.py. Every length is checked against the bytes left before anything is read.

/** Bytes that do not follow the encoding (the caller names the file). */
export class Malformed extends Error {}

const MAX_TEXT = 4096, MAX_LIST = 64, MAX_EXTRAS = 1 << 20;
const EXTENSIONS = ['.cube', '.3dl', '.spi3d', '.spi1d', '.csp', '.clf', '.ctf', '.png', '.tif',
  '.tiff', '.exr', '.lut', '.txt', '.look', '.m3d', '.vlt'];
const MAX_VARINT = (1n << 63n) - 1n;

/** Bounded reader over data[pos, end). */
export class Reader {
  constructor(data, pos, end) { this.data = data; this.pos = pos; this.end = end; }
  get left() { return this.end - this.pos; }
  take(n, what) {
    if (!(n >= 0) || n > this.left) throw new Malformed(`${what} needs ${n} bytes, ${this.left} are left (truncated or a lying length)`);
    const out = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  byte(what) { return this.take(1, what)[0]; }
  /** A shortest-form LEB128 of at most 9 bytes, as a BigInt at most `limit`. */
  big(what, limit = MAX_VARINT) {
    let value = 0n;
    for (let i = 0; i < 9; i++) {
      const b = this.byte(what);
      value |= BigInt(b & 0x7f) << BigInt(7 * i);
      if (!(b & 0x80)) {
        if (b === 0 && i) throw new Malformed(`${what} is not in its shortest form`);
        if (value > BigInt(limit)) throw new Malformed(`${what} = ${value} is more than the ${limit} accepted`);
        return value;
      }
    }
    throw new Malformed(`${what} is longer than 9 bytes`);
  }
  varint(what, limit = MAX_VARINT) { return Number(this.big(what, limit)); }
  /** A shortest-form LEB128 bit set of at most maxBits bits (BigInt). */
  bitmap(what, maxBits) {
    let value = 0n, shift = 0n;
    for (;;) {
      const b = this.byte(what);
      value |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (value >> BigInt(maxBits)) throw new Malformed(`${what} sets bits beyond the ${maxBits} defined`);
      if (!(b & 0x80)) {
        if (b === 0 && shift > 7n) throw new Malformed(`${what} is not in its shortest form`);
        return value;
      }
      if (shift >= BigInt(maxBits)) throw new Malformed(`${what} is longer than its ${maxBits} bits need`);
    }
  }
  view(n, what) { const b = this.take(n, what); return new DataView(b.buffer, b.byteOffset, n); }
  real(what) {
    const tag = this.byte(what);
    let value;
    if (tag === 254) value = this.view(4, what).getFloat32(0, true);
    else if (tag === 255) value = this.view(8, what).getFloat64(0, true);
    else {
      const m = this.big(what, 10n ** 17n - 1n), e = (tag >> 1) - 63;
      if ((m % 10n === 0n && m) || (m === 0n && e)) throw new Malformed(`${what} is not a canonical decimal`);
      value = parseFloat(`${tag & 1 ? '-' : ''}${m}e${e}`);
    }
    if (!Number.isFinite(value)) throw new Malformed(`${what} is not finite`);
    return value;
  }
  dec4(what) {
    const code = this.view(2, what).getUint16(0, true);
    if (code === 65535) return this.real(what);
    if (code > 63000) throw new Malformed(`${what}: code ${code} is reserved`);
    if (!code) return 0;
    return parseFloat(`${1000 + (code - 1) % 9000}e${Math.floor((code - 1) / 9000) - 7}`);
  }
  f32(what) {
    const value = this.view(4, what).getFloat32(0, true);
    if (!Number.isFinite(value)) throw new Malformed(`${what} is not finite`);
    return value;
  }
}

// ---------------------------------------------------------------------------- short texts
const SHORT = [[4, ' _aeinot'], [5, 'dhlrs'], [6, '-cfgmpuwy'], [7, '.0123456789ETbkv'],
  [8, 'AHINORS'], [9, 'CDLMUWjx'], [10, 'BFGPYz'], [11, 'KVq'],
  [12, '!"#$%&\'()*+,/:;<=>?@[\\]^`{|}~JQXZ']];
const CODE_LENGTHS = new Uint8Array(256).fill(13);
for (const [n, chars] of SHORT) for (const c of chars) CODE_LENGTHS[c.charCodeAt(0)] = n;
CODE_LENGTHS[0xc3] = 12;
// canonical decoding tables: per length, the first code and the symbols in code order
const FIRST = new Int32Array(14), COUNT = new Int32Array(14), SYMBOLS = [];
{
  let code = 0;
  for (let len = 1; len <= 13; len++) {
    code <<= 1;
    const syms = [];
    for (let b = 0; b < 256; b++) if (CODE_LENGTHS[b] === len) syms.push(b);
    FIRST[len] = code; COUNT[len] = syms.length; SYMBOLS[len] = syms;
    code += syms.length;
  }
}
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function textAfter(r, h, what) {
  const n = h >> 1;
  if (n > MAX_TEXT) throw new Malformed(`${what} claims ${n} bytes, more than the ${MAX_TEXT} accepted`);
  let raw;
  if (!(h & 1)) raw = r.take(n, what);
  else {
    raw = new Uint8Array(n);
    let acc = 0, bits = 0, code = 0, len = 0, out = 0, total = 0;
    while (out < n) {
      if (!bits) { acc = r.byte(what); bits = 8; }
      bits--;
      code = code << 1 | (acc >> bits & 1);
      len++;
      if (code - FIRST[len] < COUNT[len]) {
        const sym = SYMBOLS[len][code - FIRST[len]];
        raw[out++] = sym; total += CODE_LENGTHS[sym]; code = len = 0;
      } else if (len >= 13) throw new Malformed(`${what} holds an invalid code`);
    }
    if (acc & ((1 << bits) - 1)) throw new Malformed(`${what} has non-zero padding bits`);
    if (n <= Math.ceil(total / 8)) throw new Malformed(`${what} is packed although the raw form is not longer`);
  }
  try { return UTF8.decode(raw); } catch { throw new Malformed(`${what} is not valid UTF-8`); }
}

// ---------------------------------------------------------------------------- strict JSON
/** JSON.parse refusing duplicate keys (a reader must not pick one of two values). */
export function strictJson(text) {
  const value = JSON.parse(text);
  // JSON.parse keeps the last of repeated keys: scan the text for objects repeating one
  let i = 0;
  const stack = [];
  const ws = () => { while (' \t\n\r'.includes(text[i]) && i < text.length) i++; };
  const str = () => { const s = i; i++; while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1; i++; return JSON.parse(text.slice(s, i)); };
  while (i < text.length) {
    const c = text[i];
    if (c === '{') { stack.push(new Set()); i++; ws(); if (text[i] === '"') { const k = str(); stack[stack.length - 1].add(k); } }
    else if (c === '[') { stack.push(null); i++; }
    else if (c === '}' || c === ']') { stack.pop(); i++; }
    else if (c === ',') {
      i++; ws();
      const keys = stack[stack.length - 1];
      if (keys) { const k = str(); if (keys.has(k)) throw new Error(`duplicate key ${JSON.stringify(k.slice(0, 80))}`); keys.add(k); }
    } else if (c === '"') str();
    else i++;
  }
  return value;
}

// ---------------------------------------------------------------------------- field codecs
const enumOf = (...choices) => (r, what) => choices[r.varint(what, choices.length - 1)];
const uint = (r, what) => r.varint(what);
const text = (r, what) => textAfter(r, r.varint(what, 2 * MAX_TEXT + 1), what);
const hex = (n) => (r, what) => Array.from(r.take(n, what), (b) => b.toString(16).padStart(2, '0')).join('');
const CODECS = {
  obj: null,
  uint,
  list: (r, what) => { const n = r.varint(what, MAX_LIST); const out = []; for (let i = 0; i < n; i++) out.push(r.varint(what)); return out; },
  real: (r, what) => r.real(what),
  dec4: (r, what) => r.dec4(what),
  f32: (r, what) => r.f32(what),
  domain: (r, what) => { const v = []; for (let i = 0; i < 6; i++) v.push(r.real(what)); return [v.slice(0, 3), v.slice(3)]; },
  text,
  file: (r, what) => {
    const h = r.varint(what, 4 * MAX_TEXT + 3);
    const k = h & 1 ? r.varint(what, EXTENSIONS.length - 1) : 0;
    const name = textAfter(r, h >> 1, what);
    return h & 1 && k === 0 ? name : name + EXTENSIONS[k];
  },
  hex32: hex(32), hex8: hex(8),
  time: (r, what) => new Date(r.view(4, what).getUint32(0, true) * 1000).toISOString().replace('.000Z', '+00:00'),
  version: (r, what) => { const v = r.varint(what, 4096 * 1e7); return `${Math.floor(v / 4096)}.${Math.floor(v / 64) % 64}.${v % 64}`; },
  interp: enumOf('tetrahedral', 'trilinear'), device: enumOf('cpu', 'cuda'),
  act: enumOf('relu', 'silu', 'tanh', 'sin'), skip: enumOf('identity', 'linear', 'none'),
  flag: enumOf(false, true),
};

const NONE = Symbol('no default');
const gridOf = (d) => { const g = (d.provenance || {}).grid; return Number.isInteger(g) && g >= 2 && g <= 1024 ? g : NONE; };
const DEFAULTS = {
  grid: gridOf,
  points: (d) => { const g = gridOf(d); return g === NONE ? NONE : Math.max(g, 17) ** 3 + 200000; },
  reading: (d) => { const v = 'interpolation' in d ? d.interpolation : 'tetrahedral'; return v === 'tetrahedral' || v === 'trilinear' ? v : NONE; },
  inCurve: (d) => { const v = (d.model || {}).in_curve; return Number.isInteger(v) ? v : NONE; },
};

// [key, codec, kind (u usual, o optional, d defaulted), default]; record.FIELDS, in order
const T = 'provenance.settings.target.', Q = 'quality.';
export const FIELDS = [
  ['format', 'text', 'd', 'nlut'], ['interpolation', 'interp', 'o'], ['provenance', 'obj', 'u'],
  ['provenance.grid', 'uint', 'u'], ['provenance.created', 'time', 'u'],
  ['provenance.lutplug', 'version', 'd', '0.1.0'], ['provenance.parent', 'hex32', 'd', null],
  ['provenance.settings', 'obj', 'u'], ['provenance.settings.target', 'obj', 'u'],
  [T + 'de_mean', 'real', 'd', 0.45], [T + 'de_p99', 'real', 'd', 1.5], [T + 'de_max', 'real', 'd', 3.0],
  [T + 'psnr', 'real', 'd', 45.0], ['provenance.settings.budget_bytes', 'uint', 'd', null],
  ['provenance.settings.seed', 'uint', 'd', 0], ['provenance.settings.device', 'device', 'd', 'cpu'],
  ['provenance.source', 'file', 'u'], ['provenance.source_bytes', 'uint', 'u'],
  ['provenance.source_sha256', 'hex32', 'u'], ['provenance.shaper_entries', 'list', 'o'],
  ['provenance.job', 'hex32', 'o'], ['model', 'obj', 'u'], ['model.format', 'text', 'd', 'lutplug-mlp'],
  ['model.version', 'uint', 'd', 1], ['model.in_curve', 'uint', 'u'],
  ['model.out_curve', 'uint', 'd', DEFAULTS.inCurve], ['model.fourier', 'uint', 'd', 0],
  ['model.hidden', 'list', 'u'], ['model.act', 'act', 'd', 'relu'], ['model.skip', 'skip', 'd', 'linear'],
  ['model.center', 'flag', 'd', true], ['model.minmax', 'flag', 'd', false], ['model.fix', 'obj', 'o'],
  ['model.fix.grid', 'uint', 'd', DEFAULTS.grid], ['model.fix.count', 'uint', 'u'], ['model.fix.scale', 'f32', 'u'],
  ['model.lattice', 'obj', 'o'], ['model.lattice.grid', 'uint', 'd', DEFAULTS.grid],
  ['model.lattice.step', 'real', 'u'], ['model.lattice.interpolation', 'interp', 'd', DEFAULTS.reading],
  ['domain', 'domain', 'd', [[0, 0, 0], [1, 1, 1]]], ['shaper_domain', 'domain', 'o'], ['title', 'text', 'o'],
  ['colorspace', 'obj', 'o'], ['colorspace.input', 'text', 'o'], ['colorspace.output', 'text', 'o'],
  ['quality', 'obj', 'u'], ...['de_mean', 'de_p95', 'de_p99', 'de_max', 'psnr', 'max_abs'].map((k) => [Q + k, 'dec4', 'u']),
  [Q + 'points', 'uint', 'd', DEFAULTS.points], [Q + 'meets_target', 'flag', 'd', true], ['signer', 'hex8', 'o'],
];
const FIRST_SLOTS = ['title', 'model.fix', 'quality.meets_target', 'colorspace', 'colorspace.input',
  'colorspace.output', 'shaper_domain', 'model.lattice', 'provenance.parent', 'interpolation', 'domain',
  'signer', 'provenance.shaper_entries', 'provenance.job', 'provenance.settings.budget_bytes',
  'provenance.settings.device', 'provenance.settings.seed', 'provenance.lutplug'];
/** The field map's slots, lowest bit first: [key or "extras", "set" | "absent"] (record.SLOTS). */
export const SLOTS = [
  ...FIRST_SLOTS.map((k) => [k, 'set']),
  ...FIELDS.filter(([k, , kind]) => kind !== 'u' && !FIRST_SLOTS.includes(k)).map(([k]) => [k, 'set']),
  ['extras', 'set'],
  ...FIELDS.filter(([, , kind]) => kind !== 'o').map(([k]) => [k, 'absent']),
];
const BIT = new Map(SLOTS.map(([k, s], i) => [k + ' ' + s, BigInt(i)]));

function node(tree, path) {
  for (const key of path) {
    const next = tree !== null && typeof tree === 'object' ? tree[key] : undefined;
    if (next === null || typeof next !== 'object' || Array.isArray(next)) return null;
    tree = next;
  }
  return tree;
}

function merge(into, extras, what) {
  for (const [key, value] of Object.entries(extras)) {
    if (key === '__proto__') throw new Malformed(`${what}: extras hold a "__proto__" key`);
    if (!Object.hasOwn(into, key)) into[key] = value;
    else if (typeof into[key] === 'object' && into[key] && !Array.isArray(into[key])
      && typeof value === 'object' && value && !Array.isArray(value)) merge(into[key], value, what);
    else throw new Malformed(`${what}: extras repeat the field ${JSON.stringify(key.slice(0, 40))}`);
  }
}

/** The description whose field map (BigInt) is `slots`, read from `r` (record.decode, without
 * its canonical-form re-encoding). */
export function decodeRecord(r, slots, what = 'description record') {
  if (slots >> BigInt(SLOTS.length)) throw new Malformed(`${what}: the field map sets undefined bits`);
  const flag = (key, state) => { const bit = BIT.get(key + ' ' + state); return bit !== undefined && Boolean(slots >> bit & 1n); };
  const description = {};
  let used = 0n;
  for (const [key, codec, kind, dflt] of FIELDS) {
    const path = key.split('.'), last = path.pop();
    const target = node(description, path);
    if (target === null) continue;
    let value = NONE;
    if (kind === 'd') value = typeof dflt === 'function' ? dflt(description) : dflt;
    const usual = kind === 'u' || (kind === 'd' && value === NONE);
    const isSet = flag(key, 'set');
    if (flag(key, 'absent')) {
      if (isSet) throw new Malformed(`${what}: ${key} is both set and absent`);
      used |= 1n << BIT.get(key + ' absent');
      continue;
    }
    if (isSet) {
      used |= 1n << BIT.get(key + ' set');
      if (usual) throw new Malformed(`${what}: ${key} has no default to differ from`);
    } else if (kind === 'o') continue;
    else if (!usual) { target[last] = JSON.parse(JSON.stringify(value)); continue; }
    target[last] = codec === 'obj' ? {} : CODECS[codec](r, `${what}: ${key}`);
  }
  if (flag('extras', 'set')) {
    used |= 1n << BIT.get('extras set');
    const w = `${what}: extras`;
    let extras;
    try { extras = strictJson(UTF8.decode(r.take(r.varint(w, MAX_EXTRAS), w))); } catch (e) {
      if (e instanceof Malformed) throw e;
      throw new Malformed(`${w} is not valid JSON (${String(e.message).slice(0, 200)})`);
    }
    if (!extras || typeof extras !== 'object' || Array.isArray(extras) || !Object.keys(extras).length) throw new Malformed(`${w} must be a non-empty JSON object`);
    merge(description, extras, what);
  }
  if (slots !== used) throw new Malformed(`${what}: the field map sets slots of absent objects`);
  return description;
}
