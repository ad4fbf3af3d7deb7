// lutplug's .nlut reader for web pages: a dependency-free ES module (docs/web.md).
//
//   import { readNlut } from './nlut.js';
//   const grade = await readNlut(bytes, { source: 'look.nlut', trustedKeys: [raw32] });
//   apply(grade, [r, g, b])           // nlut-cpu.js: CPU evaluation (numbers in, numbers out)
//
// It reads format versions 1, 2 and 3 (1 and 2 with nlut-legacy.js, imported when one is read)
// with the limits of the Python reader (lutplug/codec/container.py, lean.py, layout.py): every
// size is checked before anything is allocated from it, inflation is capped, and a bad file raises NlutError naming it. A signed
// file's Ed25519 signature is checked with WebCrypto before its payload is parsed; where the
// browser has no Ed25519, a signed file is read "unverified" unless trusted keys or a signature
// are required (then it is refused). nlut-gl.js builds the WebGL2 shader.
import { Malformed, Reader, decodeRecord, SLOTS } from './nlut-record.js';
import { Network } from './nlut-net.js';

export { SLOTS };
/** A .nlut that cannot be read; `message` names the file. */
export class NlutError extends Error {
  constructor(message, source) { super(`${source}: ${message}`); this.name = 'NlutError'; this.source = source; }
}

export const LIMITS = {
  file: 16 << 20, payload: 16 << 20, inflated: 64 << 20, header: 1 << 20, elements: 1 << 24,
  shaper: 1 << 16, fixGrid: 128, fixRows: 4096, latticeGrid: 129, latticeSpan: 64,
  curve: 4096, fourier: 12, hidden: 1024, layers: 8, tensorIndex: 64,
};
const SIG = 96, CRC = 4, MIN_V3 = 10;

// ---------------------------------------------------------------------------- numbers
const HALF = new Float32Array(1 << 16);
for (let h = 0; h < 1 << 16; h++) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, f = h & 1023;
  HALF[h] = e === 31 ? (f ? NaN : s * Infinity) : e ? s * 2 ** (e - 15) * (1 + f / 1024) : s * 2 ** -14 * (f / 1024);
}
export const DTYPES = { // name: [bytes, reader]
  F64: [8, (v, i) => v.getFloat64(i, true)], F32: [4, (v, i) => v.getFloat32(i, true)],
  F16: [2, (v, i) => HALF[v.getUint16(i, true)]], I64: [8, (v, i) => Number(v.getBigInt64(i, true))],
  I32: [4, (v, i) => v.getInt32(i, true)], I16: [2, (v, i) => v.getInt16(i, true)], I8: [1, (v, i) => v.getInt8(i)],
  U8: [1, (v, i) => v.getUint8(i)], U16: [2, (v, i) => v.getUint16(i, true)], U32: [4, (v, i) => v.getUint32(i, true)],
  BOOL: [1, (v, i) => v.getUint8(i)],
};
const V3_DTYPES = { 1: 'I8', 2: 'I16', 3: 'F16', 4: 'F32', 5: 'F64', 6: 'I32' };
const isFloat = (t) => t.dtype[0] === 'F';
export const prod = (shape) => shape.reduce((a, b) => a * b, 1);

/** A tensor: dtype name, shape, values (Float64Array). */
function tensor(dtype, shape, bytes) {
  const [size, read] = DTYPES[dtype];
  const n = prod(shape), v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = read(v, i * size);
  return { dtype, shape, values };
}

let CRC_TABLE;
function crc32(bytes, crc = 0) {
  if (!CRC_TABLE) {
    CRC_TABLE = new Int32Array(256);
    for (let n = 0; n < 256; n++) { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; CRC_TABLE[n] = c; }
  }
  crc = ~crc;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 255] ^ (crc >>> 8);
  return ~crc >>> 0;
}
// ---------------------------------------------------------------------------- framing
function v3CrcOk(part) {
  if (part.length < MIN_V3) return false;
  const body = part.subarray(0, part.length - CRC), head = body.slice(0, 6);
  head[5] &= 0xfe;
  const want = new DataView(part.buffer, part.byteOffset + part.length - CRC, CRC).getUint32(0, true);
  return crc32(body.subarray(6), crc32(head)) === want;
}

/** {signedPart, key, sig, version} of .nlut bytes, nothing parsed (container.split). */
function split(data, source) {
  const fail = (m) => { throw new NlutError(m, source); };
  if (data.length < 4 || String.fromCharCode(...data.subarray(0, 4)) !== 'NLUT') fail('not a .nlut file (bad magic bytes)');
  const version = data[4];
  if (version === 3) {
    if (data.length < MIN_V3) fail('file is too short to be a .nlut');
    if (data.length > LIMITS.file + SIG) fail(`file is ${data.length} bytes, more than the ${LIMITS.file} accepted`);
    if (!(data[5] & 1)) return { signedPart: data, key: null, sig: null, version };
    const end = data.length - SIG;
    if (!(end >= MIN_V3 && v3CrcOk(data.subarray(0, end))) && v3CrcOk(data)) fail('the header says signed but the file ends before the signature: the signature was stripped');
    if (end < MIN_V3) fail('file is too short to be a signed .nlut');
    return { signedPart: data.subarray(0, end), key: data.subarray(end, end + 32), sig: data.subarray(end + 32), version };
  }
  if (data.length < 12) fail('file is too short to be a .nlut');
  if (version !== 1 && version !== 2) fail(`.nlut format version ${version} is ${version < 3 ? 'older' : 'newer'} than the versions 1, 2, 3 this lutplug reads; refused (a rewritten version byte is how a downgrade would slip past checks)`);
  const v = new DataView(data.buffer, data.byteOffset, 12);
  const flags = data[5], reserved = v.getUint16(6, true), length = v.getUint32(8, true);
  if (flags & ~1 || reserved) fail(`unknown flags 0x${flags.toString(16)}/0x${reserved.toString(16)} in the header`);
  const end = 12 + length, signed = Boolean(flags & 1);
  if (length > LIMITS.payload) fail(`header claims a ${length}-byte payload, more than the ${LIMITS.payload} accepted`);
  if (signed && data.length === end) fail('the header says signed but the file ends before the signature: the signature was stripped');
  const expected = end + (signed ? SIG : 0);
  if (data.length !== expected) fail(`file is ${data.length} bytes but its header implies ${expected} (truncated, padded or corrupted)`);
  if (!signed) return { signedPart: data, key: null, sig: null, version };
  return { signedPart: data.subarray(0, end), key: data.subarray(end, end + 32), sig: data.subarray(end + 32), version };
}

// ---------------------------------------------------------------------------- version 3
function readFacts(r) {
  const bits = r.varint('tensor facts', 63);
  if (!bits || (bits & 2 && !(bits & 1)) || (bits & 4 && bits & 8) || (bits & 16 && !(bits & 1)) || (bits & 32 && bits & 8)) {
    throw new Malformed(`tensor facts 0x${bits.toString(16)} are not a valid combination`);
  }
  const facts = { shaper: 0, shaperType: bits & 2 ? 'F32' : 'F16', latticeType: bits & 4 ? 'I16' : 'I8', index: null, shaperDelta: Boolean(bits & 16), latticeDelta: Boolean(bits & 32) };
  if (bits & 1) {
    facts.shaper = r.varint('shaper entry count', LIMITS.shaper);
    if (facts.shaper < 2) throw new Malformed(`shaper has ${facts.shaper} entries (at least 2)`);
  }
  if (bits & 8) {
    facts.index = [];
    const count = r.varint('tensor index count', LIMITS.tensorIndex);
    if (!count) throw new Malformed('tensor index is empty');
    for (let i = 0; i < count; i++) {
      const name = String.fromCharCode(...r.take(r.varint('tensor name length', 64), 'tensor name'));
      const prev = facts.index.length ? facts.index[facts.index.length - 1][0] : null;
      if (!/^[A-Za-z0-9_.]+$/.test(name) || (prev !== null && name <= prev)) throw new Malformed(`tensor index entry ${i}: name ${JSON.stringify(name.slice(0, 40))} is not a sorted [A-Za-z0-9_.] name`);
      const code = r.varint('tensor dtype', 6);
      if (!V3_DTYPES[code]) throw new Malformed(`tensor ${JSON.stringify(name)} has an unknown dtype code ${code}`);
      const axes = r.varint('tensor axes', 4), shape = [];
      for (let k = 0; k < axes; k++) shape.push(r.varint('tensor shape', LIMITS.elements));
      facts.index.push([name, V3_DTYPES[code], shape]);
    }
  }
  return facts;
}

function deltaDecode(bytes, dtype, shape, axis) {
  const size = DTYPES[dtype][0], count = prod(shape), out = new Uint8Array(bytes.length);
  const bits = size === 1 ? 8 : size * 8, mod = 2 ** bits;
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) { let v = 0; for (let b = size - 1; b >= 0; b--) v = v * 256 + bytes[b * count + i]; values[i] = v; }
  const stride = prod(shape.slice(axis + 1)), len = shape[axis];
  for (let i = 0; i < count; i++) if (Math.floor(i / stride) % len) values[i] = (values[i] + values[i - stride]) % mod;
  for (let i = 0; i < count; i++) { let v = values[i]; for (let b = 0; b < size; b++) { out[i * size + b] = v % 256; v = Math.floor(v / 256); } }
  return out;
}

async function decodeV3(signedPart, data, source) {
  const fail = (m) => { throw new NlutError(m, source); };
  if (!v3CrcOk(signedPart)) {
    if (!(data[5] & 1) && data.length > SIG && v3CrcOk(data.subarray(0, data.length - SIG))) fail('the header says unsigned but a signature block follows: the signed flag was cleared');
    fail('file is corrupted: its CRC-32 does not match (changed, truncated or padded bytes)');
  }
  const r = new Reader(signedPart, 5, signedPart.length - CRC);
  let fieldMap, facts, description;
  try {
    fieldMap = r.bitmap('field map', 3 + SLOTS.length);
    facts = fieldMap & 4n ? readFacts(r) : { shaper: 0, shaperType: 'F16', latticeType: 'I8', index: null };
    description = decodeRecord(r, fieldMap >> 3n);
  } catch (e) {
    if (e instanceof Malformed) fail(e.message);
    throw e;
  }
  let entries;
  if (facts.index) entries = facts.index.map(([name, dtype, shape]) => ['m.' + name, dtype, shape]);
  else {
    const config = description.model;
    if (!config || typeof config !== 'object' || Array.isArray(config)) fail('description has no model configuration');
    const packed = mismatch(source, () => packedSpecs(config, facts.latticeType));
    if (facts.latticeType === 'I16' && !packed.find(([n]) => n === 'm.lattice')) fail('tensor facts give a residual lattice type, but the network has none');
    entries = packed;
  }
  if (facts.shaper) entries.push(['shaper', facts.shaperType, [facts.shaper, 3]]);
  let offset = 0;
  const specs = [];
  for (const [name, dtype, shape] of entries) {
    const count = prod(shape);
    if (count > LIMITS.elements) fail(`tensor ${JSON.stringify(name)} has ${count} elements, more than the ${LIMITS.elements} accepted`);
    specs.push({ name, dtype, shape, begin: offset, end: offset + count * DTYPES[dtype][0] });
    offset += count * DTYPES[dtype][0];
    if (offset > LIMITS.inflated) fail(`tensors need more than the ${LIMITS.inflated} bytes a tensor block may hold`);
  }
  checkNlut(description, Object.fromEntries(specs.map((s) => [s.name, s])), source, 3);
  const start = r.pos, stop = signedPart.length - CRC;
  let raw;
  if (!(fieldMap & 2n)) {
    if (stop - start !== offset) fail(`tensor block holds ${stop - start} bytes, the network needs ${offset}`);
    raw = signedPart.subarray(start, stop);
  } else {
    let n = 0;
    raw = new Uint8Array(offset);
    try { // the browser's raw DEFLATE refuses corrupted and truncated streams, and bytes after the end
      const reader = new Blob([signedPart.subarray(start, stop)]).stream().pipeThrough(new DecompressionStream('deflate-raw')).getReader();
      for (let part; !(part = await reader.read()).done; n += part.value.length) {
        if (n + part.value.length > offset) { reader.cancel(); n = -1; break; }
        raw.set(part.value, n);
      }
    } catch (e) { fail(`tensor block is corrupted (${e.message})`); }
    if (n < 0) fail(`tensor block inflates beyond the ${offset} bytes the network needs`);
    if (n < offset) fail(`tensor block inflates to ${n} bytes, the network needs ${offset} (truncated)`);
  }
  if (facts.latticeDelta && !specs.find((s) => s.name === 'm.lattice')) fail('tensor facts say the residual lattice is delta-coded, but the network has none');
  const tensors = {};
  for (const s of specs) {
    let bytes = raw.subarray(s.begin, s.end);
    if (s.name === 'shaper' && facts.shaperDelta) bytes = deltaDecode(bytes, s.dtype, s.shape, 0);
    if (s.name === 'm.lattice' && facts.latticeDelta) bytes = deltaDecode(bytes, s.dtype, s.shape, 2);
    tensors[s.name] = { dtype: s.dtype, shape: s.shape, bytes };
  }
  return { tensors, description };
}

// ---------------------------------------------------------------------------- layout checks
const KNOWN = new Set(['format', 'version', 'in_curve', 'out_curve', 'fourier', 'hidden', 'act', 'skip', 'center', 'minmax', 'quant', 'fix', 'lattice']);
const isInt = Number.isInteger, isNum = (v) => typeof v === 'number';

function mismatch(source, fn) {
  try { return fn(); } catch (e) {
    if (e instanceof NlutError) throw e;
    throw new NlutError(`network does not match its configuration: ${String(e.message).slice(0, 300)}`, source);
  }
}

/** layout.check_config: throws Error for a configuration outside the reader's limits. */
export function checkConfig(c) {
  if (c.format !== 'lutplug-mlp') throw new Error(`unknown network format ${JSON.stringify(c.format)}`);
  for (const [k, limit] of [['in_curve', LIMITS.curve], ['out_curve', LIMITS.curve], ['fourier', LIMITS.fourier]]) {
    const v = k in c ? c[k] : 0;
    if (!isInt(v) || !(v === 0 || (v >= 2 && v <= limit))) throw new Error(`${k} = ${JSON.stringify(v)} is out of range`);
  }
  const h = c.hidden;
  if (!Array.isArray(h) || h.length < 1 || h.length > LIMITS.layers || !h.every((w) => isInt(w) && w >= 1 && w <= LIMITS.hidden)) throw new Error(`hidden = ${JSON.stringify(h).slice(0, 60)} must be 1 to 8 widths of 1..1024`);
  for (const [k, allowed] of [['act', ['relu', 'silu', 'tanh', 'sin']], ['skip', ['identity', 'linear', 'none']]]) {
    if (k in c && !allowed.includes(c[k])) throw new Error(`${k} = ${JSON.stringify(c[k])} is not one of ${allowed}`);
  }
  for (const k of ['center', 'minmax']) if (k in c && typeof c[k] !== 'boolean') throw new Error(`${k} = ${JSON.stringify(c[k])} must be true or false`);
  if ('fix' in c) {
    const f = c.fix;
    if (!f || typeof f !== 'object' || Object.keys(f).sort().join() !== 'count,grid,scale') throw new Error('fix must hold exactly grid, count and scale');
    if (!isInt(f.grid) || f.grid < 2 || f.grid > LIMITS.fixGrid) throw new Error(`fix grid = ${JSON.stringify(f.grid)} is out of range`);
    if (!isInt(f.count) || f.count < 1 || f.count > LIMITS.fixRows) throw new Error(`fix count = ${JSON.stringify(f.count)} is out of range`);
    if (!isNum(f.scale) || !(f.scale > 0 && f.scale < 1e4)) throw new Error(`fix scale = ${JSON.stringify(f.scale)} must be a positive number`);
  }
  if ('lattice' in c) {
    const l = c.lattice;
    if (!l || typeof l !== 'object' || Object.keys(l).sort().join() !== 'grid,interpolation,step') throw new Error('lattice must hold exactly grid, step and interpolation');
    if (!isInt(l.grid) || l.grid < 2 || l.grid > LIMITS.latticeGrid) throw new Error(`lattice grid = ${JSON.stringify(l.grid)} is out of range`);
    if (!isNum(l.step) || !(l.step > 0 && l.step <= 1)) throw new Error(`lattice step = ${JSON.stringify(l.step)} must be in (0, 1]`);
    if (!['tetrahedral', 'trilinear'].includes(l.interpolation)) throw new Error('lattice interpolation is not tetrahedral or trilinear');
  }
  const unknown = Object.keys(c).filter((k) => !KNOWN.has(k));
  if (unknown.length) throw new Error(`unknown network settings ${JSON.stringify(unknown.sort())}`);
}

/** model.param_shapes: [name, shape] in packing order. */
export function paramShapes(c) {
  const out = [];
  if (c.in_curve) out.push(['cin', [3, c.in_curve]]);
  let d = 3 + 6 * (c.fourier || 0) + (c.minmax ? 2 : 0);
  c.hidden.forEach((w, i) => { out.push([`W${i}`, [w, d]], [`b${i}`, [w]]); d = w; });
  const L = c.hidden.length;
  out.push([`W${L}`, [3, d]], [`b${L}`, [3]]);
  if ((c.skip || 'identity') === 'linear') out.push(['A', [3, 3]], ['c', [3]]);
  if (c.out_curve) out.push(['cout', [3, c.out_curve]]);
  if (c.fix) out.push(['fix', [c.fix.count, 6]]);
  if (c.lattice) out.push(['lattice', [c.lattice.grid, c.lattice.grid, c.lattice.grid, 3]]);
  return out;
}
const scaleCount = (name, shape) => (name === 'fix' || name === 'lattice' ? 0 : name === 'cin' || name === 'cout' ? shape[0] : 1);

function packedSpecs(config, latticeType) {
  checkConfig(config);
  const layout = paramShapes(config).filter(([n]) => n !== 'lattice');
  const out = [['m.q', 'I8', [layout.reduce((a, [, s]) => a + prod(s), 0)]], ['m.s', 'F16', [layout.reduce((a, [n, s]) => a + scaleCount(n, s), 0)]]];
  if (config.lattice) out.push(['m.lattice', latticeType, [config.lattice.grid, config.lattice.grid, config.lattice.grid, 3]]);
  return out;
}

const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

function domainPair(d, field, source, missing) {
  const pair = d[field];
  const ok = Array.isArray(pair) && pair.length >= 2 && [pair[0], pair[1]].every((t) => Array.isArray(t) && t.length === 3);
  if (!ok) throw new NlutError(missing || `description has no valid '${field}'`, source);
  const [lo, hi] = [pair[0], pair[1]];
  if (![...lo, ...hi].every((v) => isNum(v) && Number.isFinite(v))) throw new NlutError(`description field '${field}' must hold finite numbers`, source);
  if (hi.some((v, i) => v <= lo[i])) throw new NlutError(`description '${field}' is empty or reversed`, source);
  return [lo, hi];
}

/** layout.check_nlut: description and tensor specs ({dtype, shape}) agree, before tensor data is read. */
function checkNlut(d, specs, source, version) {
  const fail = (m) => { throw new NlutError(m, source); };
  if (d.format !== 'nlut') fail('description does not describe an nlut');
  if ('signer' in d && d.signer !== null && !(typeof d.signer === 'string' && /^[0-9a-f]{16}$/.test(d.signer))) fail("description field 'signer' must be a key id of 16 hex digits");
  const config = d.model;
  if (!config || typeof config !== 'object' || Array.isArray(config)) fail('description has no model configuration');
  domainPair(d, 'domain', source);
  if ('interpolation' in d && !['tetrahedral', 'trilinear'].includes(d.interpolation)) fail("description 'interpolation' must be tetrahedral or trilinear");
  const stray = Object.keys(specs).filter((k) => !k.startsWith('m.') && k !== 'shaper');
  if (stray.length) fail(`unexpected tensors ${JSON.stringify(stray.slice(0, 5).map((k) => k.slice(0, 40)))}`);
  mismatch(source, () => {
    checkConfig(config);
    if (version === 2 || (version === 3 && 'm.q' in specs)) {
      const want = Object.fromEntries(packedSpecs(config, 'I8').map(([n, t, s]) => [n, [t, s]]));
      if (version === 2) { // version 2 packs the lattice into m.q
        const all = paramShapes(config);
        want['m.q'][1] = [all.reduce((a, [, s]) => a + prod(s), 0)];
        delete want['m.lattice'];
      }
      for (const [name, [t, s]] of Object.entries(want)) {
        const spec = specs[name];
        if (name === 'm.lattice') {
          if (!spec || !['I8', 'I16'].includes(spec.dtype) || !same(spec.shape, s)) throw new Error(`tensor lattice must be int8 or int16 ${JSON.stringify(s)}`);
        } else if (!spec || spec.dtype !== t || !same(spec.shape, s)) throw new Error(`${name} must be ${t} (${s}), got ${spec ? spec.dtype + ' ' + JSON.stringify(spec.shape) : 'missing'}`);
      }
      const extra = Object.keys(specs).filter((k) => k.startsWith('m.') && !(k in want));
      if (extra.length) throw new Error(`unexpected tensors ${JSON.stringify(extra.slice(0, 5))}`);
    } else {
      const seen = new Set();
      for (const [name, shape] of paramShapes(config)) {
        let arr = specs['m.' + name];
        if (name === 'fix' || name === 'lattice') {
          const types = name === 'fix' ? ['I8'] : ['I8', 'I16'];
          if (!arr || !types.includes(arr.dtype)) throw new Error(`tensor ${name} must be ${types.join(' or ')}`);
          seen.add(name);
        } else if (arr) {
          if (!isFloat(arr)) throw new Error(`${name} must be float, got ${arr.dtype}`);
          seen.add(name);
        } else if (specs[`m.${name}.q`] && specs[`m.${name}.s`]) {
          const s = specs[`m.${name}.s`];
          arr = specs[`m.${name}.q`];
          if (arr.dtype !== 'I8' || !isFloat(s)) throw new Error(`${name} must be int8 with a float scale`);
          if (!(s.shape.length === 0 || same(s.shape, [1]) || same(s.shape, [shape[0]]))) throw new Error(`${name}.s has shape ${JSON.stringify(s.shape)}, not a per-tensor or per-row scale`);
          seen.add(name + '.q'); seen.add(name + '.s');
        } else throw new Error(`tensor ${name} is missing`);
        if (!same(arr.shape, shape)) throw new Error(`${name} has shape ${JSON.stringify(arr.shape)}, the network needs ${JSON.stringify(shape)}`);
      }
      const extra = Object.keys(specs).filter((k) => k.startsWith('m.') && !seen.has(k.slice(2)));
      if (extra.length) throw new Error(`unexpected tensors ${JSON.stringify(extra.slice(0, 5))}`);
    }
  });
  if (('shaper' in specs) !== ('shaper_domain' in d)) fail("'shaper' tensor and 'shaper_domain' must come together");
  if ('shaper' in specs) {
    const s = specs.shaper;
    if (!isFloat(s) || s.shape.length !== 2 || s.shape[1] !== 3 || s.shape[0] < 2 || s.shape[0] > LIMITS.shaper) fail(`shaper must be float (M, 3) with 2 <= M <= ${LIMITS.shaper}`);
    domainPair(d, 'shaper_domain', source, "file has a shaper but no valid 'shaper_domain'");
  }
}

/** The network's parameters, float (Float64Array, dequantised: q × s) and integers, by name. */
function storedParams(config, tensors, version) {
  const params = {};
  const t = Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, tensor(v.dtype, v.shape, v.bytes)]));
  if (version === 2 || (version === 3 && t['m.q'])) {
    const q = t['m.q'].values, s = t['m.s'].values;
    let atQ = 0, atS = 0;
    for (const [name, shape] of paramShapes(config)) {
      if (name === 'lattice' && version === 3) continue;
      const size = prod(shape), k = scaleCount(name, shape), out = new Float64Array(size);
      for (let i = 0; i < size; i++) {
        out[i] = k ? Math.fround(q[atQ + i] * s[atS + (k > 1 ? Math.floor(i / (size / k)) : 0)]) : q[atQ + i];
      }
      params[name] = out; atQ += size; atS += k;
    }
    if (t['m.lattice']) params.lattice = t['m.lattice'].values;
  } else {
    for (const [name, shape] of paramShapes(config)) {
      if (t['m.' + name]) { params[name] = t['m.' + name].values.map(Math.fround); continue; }
      const q = t[`m.${name}.q`].values, s = t[`m.${name}.s`].values, rows = s.length > 1 ? shape[0] : 1;
      const size = q.length, out = new Float64Array(size);
      for (let i = 0; i < size; i++) out[i] = Math.fround(q[i] * s[rows > 1 ? Math.floor(i / (size / rows)) : 0]);
      params[name] = out;
    }
  }
  return { params, shaper: t.shaper ? t.shaper.values.map(Math.fround) : null, all: t };
}

// ---------------------------------------------------------------------------- signatures
const b2hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
/** Key id of a raw Ed25519 public key: first 8 bytes of its SHA-256, hex (signing.key_id). */
export async function keyId(raw) { return b2hex(new Uint8Array(await crypto.subtle.digest('SHA-256', raw)).subarray(0, 8)); }
/** A raw 32-byte key from "ed25519:BASE64" or BASE64 text (base64url too; a space, what an
 * unescaped "+" becomes in a URL, is read as "+"). */
export function parseKey(text) {
  const b64 = String(text).trim().replace(/^ed25519:/, '').replace(/ /g, '+').replace(/-/g, '+').replace(/_/g, '/');
  let b;
  try { b = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)); } catch { throw new Error(`trusted key ${JSON.stringify(String(text).slice(0, 60))} is not base64`); }
  if (b.length !== 32) throw new Error(`an Ed25519 public key has 32 bytes, got ${b.length}`);
  return b;
}

/** Whether this browser's WebCrypto verifies Ed25519 (Chrome/Edge 137+, Firefox 129+, Safari 17+). */
export async function hasEd25519() {
  if (!globalThis.crypto || !crypto.subtle) return false;
  try { await crypto.subtle.importKey('raw', new Uint8Array(32), { name: 'Ed25519' }, false, ['verify']); return true; } catch (e) { return e.name !== 'NotSupportedError'; }
}

async function signatureState(split, trusted, source) {
  if (!split.sig) return { state: 'unsigned', keyId: null };
  const hasSubtle = Boolean(globalThis.crypto && crypto.subtle);
  const kid = hasSubtle ? await keyId(split.key) : null;
  let key;
  try { key = await crypto.subtle.importKey('raw', split.key, { name: 'Ed25519' }, false, ['verify']); } catch (e) {
    if (!hasSubtle || e.name === 'NotSupportedError') return { state: 'unverified', keyId: kid };
    return { state: 'invalid', keyId: kid };
  }
  let ok;
  try { ok = await crypto.subtle.verify({ name: 'Ed25519' }, key, split.sig, split.signedPart); } catch { ok = false; }
  if (!ok) return { state: 'invalid', keyId: kid };
  const hex = b2hex(split.key);
  return { state: trusted.some((k) => b2hex(k) === hex) ? 'valid' : 'untrusted', keyId: kid };
}

function enforce(status, trusted, requireSignature, source) {
  const fail = (m) => { throw new NlutError(m, source); };
  const { state, keyId: kid } = status;
  if (state === 'invalid') fail('signature does not match the contents: the file was altered after signing');
  if (state === 'stripped') fail(`the file names signer ${status.declared} but carries no signature: its signature was stripped`);
  if (state === 'resigned') fail(`the file names signer ${status.declared} but is signed by key ${kid}: it was re-signed by another key`);
  if (state === 'unsigned' && requireSignature) fail('file is not signed but a signature is required');
  if (state === 'untrusted' && trusted.length) fail(`signed by key ${kid}, which is not trusted`);
  if (state === 'unverified' && (trusted.length || requireSignature)) fail("a trusted signature is required, but this browser's WebCrypto cannot verify Ed25519 (or the page is not a secure context), so it cannot be checked");
}

// ---------------------------------------------------------------------------- the reader
/**
 * Read .nlut bytes (Uint8Array or ArrayBuffer). Options: source (a name for messages),
 * trustedKeys (raw 32-byte Ed25519 public keys: a signed file must be signed by one),
 * requireSignature (refuse unsigned files). Returns a Network; throws NlutError.
 */
export async function readNlut(bytes, { source = '.nlut', trustedKeys = [], requireSignature = false } = {}) {
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (data.length > LIMITS.file + SIG) throw new NlutError(`file is ${data.length} bytes, more than the ${LIMITS.file} accepted`, source);
  const parts = split(data, source);
  let status = await signatureState(parts, trustedKeys, source);
  enforce(status, trustedKeys, requireSignature, source);
  const { tensors, description: d } = parts.version === 3 ? await decodeV3(parts.signedPart, data, source)
    : (await import('./nlut-legacy.js')).decodeLegacy(parts.signedPart, source); // loaded for versions 1 and 2 only
  if (parts.version !== 3) checkNlut(d, tensors, source, parts.version);
  if (d.signer != null) {
    status = { ...status, declared: d.signer };
    if (status.state === 'unsigned') status.state = 'stripped';
    else if (!['invalid', 'unverified'].includes(status.state) && status.keyId !== d.signer) status.state = 'resigned';
    enforce(status, trustedKeys, requireSignature, source);
  }
  const { params, shaper, all } = storedParams(d.model, tensors, parts.version);
  for (const [k, v] of Object.entries(all)) if (isFloat(v) && !v.values.every(Number.isFinite)) throw new NlutError(`tensor '${k}' holds NaN or infinite values`, source);
  if (params.fix) {
    for (let i = 0; i < params.fix.length; i += 6) {
      for (let j = 0; j < 3; j++) if (params.fix[i + j] < 0 || params.fix[i + j] >= d.model.fix.grid) throw new NlutError('node corrections name nodes outside their grid', source);
    }
  }
  if (params.lattice) {
    let top = 0;
    for (const v of params.lattice) top = Math.max(top, Math.abs(v));
    const span = d.model.lattice.step * top;
    if (span > LIMITS.latticeSpan) throw new NlutError(`residual lattice values reach ${span.toPrecision(3)} (at most ${LIMITS.latticeSpan})`, source);
  }
  const [dmin, dmax] = domainPair(d, 'domain', source);
  const shaperDomain = shaper ? domainPair(d, 'shaper_domain', source) : null;
  return new Network({ config: d.model, params, domain: [dmin, dmax], shaper, shaperDomain, description: d,
    signature: status, version: parts.version, bytes: data.length, source });
}
