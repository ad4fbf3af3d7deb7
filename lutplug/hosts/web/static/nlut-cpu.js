// NeuralLUT.apply on the CPU, with the maths of lutplug/codec/model/numpy_net.py and lattice.py,
// for a Network from nlut.js: `apply(network, [r, g, b])`. The page grades on the GPU
// (nlut-gl.js); it imports this module only where the browser cannot render floats, for a
// residual lattice's nodes.
const f32 = Math.fround;
const ACTS = {
  relu: (z) => (z > 0 ? z : 0), silu: (z) => z / (1 + Math.exp(-z)), tanh: Math.tanh, sin: Math.sin,
};

/** Per-channel PWL curve value (c: 3 rows of K knots, channel-major) at x, as numpy_net.pwl_np. */
function pwl(c, K, ch, x) {
  const t = f32(Math.min(Math.max(x, 0), 1) * (K - 1));
  const i = Math.min(Math.trunc(t), K - 2), f = t - i;
  const lo = c[ch * K + i], hi = c[ch * K + i + 1];
  return lo + (hi - lo) * f;
}

/** Tetrahedral interpolation (lutplug.core.interpolate.tetrahedral) of table (N³×3, [b, g, r]). */
function tetrahedral(table, n, u, out) {
  const x = [0, 1, 2].map((c) => f32(Math.min(Math.max(u[c], 0), 1) * (n - 1)));
  const i0 = x.map((v) => Math.min(Math.trunc(v), n - 2)), [fr, fg, fb] = x.map((v, c) => f32(v - i0[c]));
  const base = (i0[2] * n + i0[1]) * n + i0[0];
  const first = fr >= fg && fr >= fb ? 1 : fg >= fb ? n : n * n;
  const last = fb <= fr && fb <= fg ? n * n : fg <= fr ? n : 1;
  const X = Math.max(fr, fg, fb), Z = Math.min(fr, fg, fb), Y = Math.max(Math.min(fr, fg), Math.min(Math.max(fr, fg), fb));
  const i1 = base + first, i3 = base + 1 + n + n * n, i2 = i3 - last;
  for (let c = 0; c < 3; c++) {
    out[c] = table[3 * base + c] * (1 - X) + table[3 * i1 + c] * (X - Y) + table[3 * i2 + c] * (Y - Z) + table[3 * i3 + c] * Z;
  }
  return out;
}

/** Trilinear interpolation (lutplug.core.interpolate.trilinear), same layouts. */
function trilinear(table, n, u, out) {
  const x = [0, 1, 2].map((c) => f32(Math.min(Math.max(u[c], 0), 1) * (n - 1)));
  const i0 = x.map((v) => Math.min(Math.trunc(v), n - 2)), [fr, fg, fb] = x.map((v, c) => f32(v - i0[c]));
  const b = (i0[2] * n + i0[1]) * n + i0[0], sg = n, sb = n * n;
  for (let c = 0; c < 3; c++) {
    const t = (i) => table[3 * i + c];
    const c00 = t(b) * (1 - fr) + t(b + 1) * fr, c10 = t(b + sg) * (1 - fr) + t(b + sg + 1) * fr;
    const c01 = t(b + sb) * (1 - fr) + t(b + sb + 1) * fr, c11 = t(b + sb + sg) * (1 - fr) + t(b + sb + sg + 1) * fr;
    out[c] = (c00 * (1 - fg) + c10 * fg) * (1 - fb) + (c01 * (1 - fg) + c11 * fg) * fb;
  }
  return out;
}

const hdrEncode = (v) => (v > 1 ? 1 + Math.log(v) : v);
const hdrDecode = (w) => (w > 1 ? Math.exp(Math.min(w, 80) - 1) : w);

/** Input RGB → network input (shaper, then domain), not clamped (NeuralLUT.lattice_coordinates). */
export function coordinates(net, rgb) {
  let x = rgb.map(f32);
  if (net.shaper) {
    const m = net.shaper.length / 3, lo = net.shaperDomain[0];
    x = x.map((v, c) => {
      const t = f32(Math.min(Math.max(f32((v - f32(lo[c])) * net.shaperScale[c]), 0), 1) * (m - 1));
      const i = Math.min(Math.trunc(t), m - 2), f = f32(t - i);
      return f32(net.shaper[3 * i + c] * (1 - f) + net.shaper[3 * i + 3 + c] * f);
    });
  }
  return x.map((v, c) => f32((v - f32(net.domain[0][c])) * net.scale[c]));
}

/** The network without its residual lattice at u (3 numbers, clamped to [0, 1]). */
export function forward(net, u) {
  const p = net.params, c = net.config, act = ACTS[c.act || 'relu'];
  const u0 = u.map((v) => Math.min(Math.max(v, 0), 1));
  let x = u0.slice();
  if (c.in_curve) x = x.map((v, ch) => v + pwl(p.cin, c.in_curve, ch, v));
  let h = [...x];
  for (let k = 0; k < (c.fourier || 0); k++) {
    const w = f32(Math.PI * 2 ** k);
    h.push(...x.map((v) => Math.sin(v * w)), ...x.map((v) => Math.cos(v * w)));
  }
  if (c.minmax) h.push(Math.max(...x), Math.min(...x));
  if (c.center) h = h.map((v) => 2 * v - 1);
  const L = c.hidden.length;
  for (let i = 0; i <= L; i++) {
    const W = p[`W${i}`], b = p[`b${i}`], out = net.widths[i], inp = h.length, next = new Array(out);
    for (let o = 0; o < out; o++) {
      let acc = 0;
      for (let k = 0; k < inp; k++) acc += W[o * inp + k] * h[k];
      acc += b[o];
      next[o] = i < L ? act(acc) : acc;
    }
    h = next;
  }
  const y = h;
  if (net.skip === 'identity') for (let ch = 0; ch < 3; ch++) y[ch] += x[ch];
  else if (net.skip === 'linear') {
    for (let ch = 0; ch < 3; ch++) y[ch] += p.A[3 * ch] * x[0] + p.A[3 * ch + 1] * x[1] + p.A[3 * ch + 2] * x[2] + p.c[ch];
  }
  if (c.out_curve) for (let ch = 0; ch < 3; ch++) y[ch] += pwl(p.cout, c.out_curve, ch, y[ch]);
  if (c.fix) {
    const d = tetrahedral(net.fixLattice(), c.fix.grid, u0, [0, 0, 0]);
    for (let ch = 0; ch < 3; ch++) y[ch] += d[ch];
  }
  return y.map(f32);
}

/** A residual lattice's node values (Float32Array N³×3, [b, g, r]): the network at every node,
 * corrected in the log-compressed space (lattice.lattice_nodes); null without a lattice. */
export function latticeNodes(net) {
  const n = net.latticeGrid;
  if (!n || net._nodes) return net._nodes;
  const q = net.params.lattice, step = f32(net.config.lattice.step), nodes = new Float32Array(n * n * n * 3);
  const ramp = Array.from({ length: n }, (_, i) => f32(i / (n - 1)));
  for (let b = 0, at = 0; b < n; b++) {
    for (let g = 0; g < n; g++) {
      for (let r = 0; r < n; r++, at += 3) {
        const y = forward(net, [ramp[r], ramp[g], ramp[b]]);
        for (let ch = 0; ch < 3; ch++) nodes[at + ch] = hdrDecode(f32(f32(hdrEncode(y[ch])) + f32(step * q[at + ch])));
      }
    }
  }
  return (net._nodes = nodes);
}

/** The grade at input RGB (3 numbers): NeuralLUT.apply on the CPU. */
export function apply(net, rgb) {
  const u = coordinates(net, rgb);
  if (!net.latticeGrid) return forward(net, u);
  const read = net.config.lattice.interpolation === 'trilinear' ? trilinear : tetrahedral;
  return read(latticeNodes(net), net.latticeGrid, u, [0, 0, 0]).map(f32);
}
