// Format versions 1 and 2 of .nlut for nlut.js, which imports this module only when it reads
// one: a zlib stream (with container.ZDICT as preset dictionary) of a safetensors payload.
import { inflateRaw } from './vendor/inflate.js';
import { strictJson } from './nlut-record.js';
import { NlutError, LIMITS, DTYPES, prod } from './nlut.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });
// zlib preset dictionary of format versions 1 and 2 (container.ZDICT, 2,109 bytes)
export const ZDICT = new TextEncoder().encode(String.raw`{"__metadata__":{"nlut":"{\"colorspace\":{\"input\":\"ACEScct\",\"output\":\"sRGB - Display\"},\"domain\":[[0.0,0.0,0.0],[1.0,1.0,1.0]],\"format\":\"nlut\",\"model\":{\"act\":\"relu\",\"center\":true,\"format\":\"lutplug-mlp\",\"fourier\":0,\"hidden\":[16,16],\"in_curve\":8,\"out_curve\":8,\"skip\":\"linear\",\"version\":1},\"provenance\":{\"created\":\"2026-01-01T00:00:00+00:00\",\"grid\":33,\"lutplug\":\"0.1.0\",\"parent\":null,\"settings\":{\"budget_bytes\":null,\"device\":\"cpu\",\"seed\":0,\"target\":{\"de_max\":3.0,\"de_mean\":0.45,\"de_p99\":1.5,\"psnr\":45.0}},\"source\":\".cube\",\"source_bytes\":0,\"source_sha256\":\"\"},\"quality\":{\"de_max\":0.0,\"de_mean\":0.0,\"de_p95\":0.0,\"de_p99\":0.0,\"max_abs\":0.0,\"meets_target\":true,\"points\":0,\"psnr\":0.0},\"shaper_domain\":[[0.0,0.0,0.0],[1.0,1.0,1.0]],\"title\":\"\"}"},`
  + ['A', 'W0', 'W1', 'W2', 'b0', 'b1', 'b2', 'c', 'cin', 'cout'].map((n) =>
    `"m.${n}.q":{"dtype":"I8","shape":[16,3],"data_offsets":[0,48]},"m.${n}.s":{"dtype":"F16","shape":[],"data_offsets":[48,50]},`).join('')
  + '"shaper":{"dtype":"F16","shape":[64,3],"data_offsets":[0,384]}}');

function adler32(bytes) {
  let a = 1, b = 0;
  for (let i = 0; i < bytes.length;) {
    const end = Math.min(i + 3800, bytes.length);
    for (; i < end; i++) { a += bytes[i]; b += a; }
    a %= 65521; b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

function inflateZlib(payload, source) {
  const fail = (m) => { throw new NlutError(`payload is corrupted (${m})`, source); };
  if (payload.length < 6) fail('truncated');
  const cmf = payload[0], flg = payload[1];
  if ((cmf & 15) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31) fail('incorrect header check');
  let at = 2, dict = null;
  if (flg & 32) {
    const id = new DataView(payload.buffer, payload.byteOffset + 2, 4).getUint32(0, false);
    if (id !== adler32(ZDICT)) fail('needs an unknown preset dictionary');
    at = 6; dict = ZDICT;
  }
  let result;
  try { result = inflateRaw(payload, at, payload.length, LIMITS.inflated, dict); } catch (e) {
    if (/beyond/.test(e.message)) throw new NlutError(`payload inflates beyond ${LIMITS.inflated} bytes`, source);
    fail(e.message);
  }
  if (result.next + 4 > payload.length) fail('truncated');
  const sum = new DataView(payload.buffer, payload.byteOffset + result.next, 4).getUint32(0, false);
  if (sum !== adler32(result.out)) fail('incorrect data check');
  if (result.next + 4 !== payload.length) throw new NlutError('payload is truncated or followed by stray bytes', source);
  return result.out;
}

/** {tensors, description} of a version 1 or 2 file's signed part (container.decode). */
export function decodeLegacy(signedPart, source) {
  const raw = inflateZlib(signedPart.subarray(12), source);
  const fail = (m) => { throw new NlutError(m, source); };
  if (raw.length < 8) fail('payload is truncated (no header)');
  const n = Number(new DataView(raw.buffer, raw.byteOffset, 8).getBigUint64(0, true));
  if (n > LIMITS.header) fail(`payload header claims ${n} bytes, more than the ${LIMITS.header} accepted`);
  if (8 + n > raw.length) fail('payload ends inside the tensor header (truncated or corrupted)');
  let header;
  try { header = strictJson(UTF8.decode(raw.subarray(8, 8 + n))); } catch (e) { fail(`payload header is not valid JSON: ${String(e.message).slice(0, 200)}`); }
  if (!header || typeof header !== 'object' || Array.isArray(header)) fail('payload header is not a JSON object');
  const meta = header.__metadata__ || {};
  delete header.__metadata__;
  if (typeof meta !== 'object' || Array.isArray(meta) || !Object.values(meta).every((v) => typeof v === 'string')) fail('payload metadata must map strings to strings');
  const specs = [];
  for (const [name, info] of Object.entries(header)) {
    const bad = () => fail(`payload: tensor ${JSON.stringify(name.slice(0, 80))} has a malformed description`);
    if (!info || typeof info !== 'object' || !(info.dtype in DTYPES) || !Array.isArray(info.shape) || !Array.isArray(info.data_offsets) || info.data_offsets.length !== 2) bad();
    if (![...info.shape, ...info.data_offsets].every(Number.isInteger)) bad();
    const shape = info.shape, [begin, end] = info.data_offsets, count = prod(shape);
    if (shape.length > 8 || shape.some((s) => s < 0) || count > LIMITS.elements) fail(`payload: tensor ${JSON.stringify(name.slice(0, 80))} has an unacceptable shape (at most ${LIMITS.elements} elements, 8 axes)`);
    if (!(begin >= 0 && begin <= end) || end - begin !== count * DTYPES[info.dtype][0]) fail(`payload: tensor ${JSON.stringify(name.slice(0, 80))} offsets ${begin}..${end} do not fit its shape`);
    specs.push({ name, dtype: info.dtype, shape, begin, end });
  }
  let covered = 0;
  for (const s of [...specs].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (s.begin !== covered) fail('payload: tensor data overlaps or leaves gaps');
    covered = s.end;
  }
  if (8 + n + covered !== raw.length) fail(`payload inflates to ${raw.length} bytes, its tensor header describes ${8 + n + covered}`);
  const keys = Object.keys(meta);
  if (keys.length !== 1 || keys[0] !== 'nlut') fail("payload metadata must hold exactly the 'nlut' description");
  let description;
  try { description = strictJson(meta.nlut); } catch (e) { fail(`description is not valid JSON (${String(e.message).slice(0, 200)})`); }
  if (!description || typeof description !== 'object' || Array.isArray(description)) fail('description is not a JSON object');
  const data = raw.subarray(8 + n);
  const tensors = {};
  for (const s of specs) tensors[s.name] = { dtype: s.dtype, shape: s.shape, bytes: data.subarray(s.begin, s.end) };
  return { tensors, description };
}
