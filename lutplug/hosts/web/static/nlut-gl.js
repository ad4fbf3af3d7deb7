// A .nlut as a WebGL2 fragment shader (GLSL ES 3.00), with the maths of lutplug.codec.glsl and
// lutplug/codec/model/numpy_net.py: the network's weights live in an RGBA32F texture (read with
// texelFetch), node corrections and residual lattices in a 3D RGB32F texture of their nodes,
// interpolated by hand (tetrahedral or trilinear, never the hardware's filtering).
const W = 1024; // parameter texture width (texels)

const lit = (v) => {
  const s = Math.fround(v).toPrecision(9);
  return s.includes('.') || s.includes('e') ? s : s + '.0';
};
const vec3 = (v) => `vec3(${v.map(lit).join(', ')})`;
const ACT = { relu: 'max(z, 0.0)', silu: 'z / (1.0 + exp(-z))', tanh: 'tanh(z)', sin: 'sin(z)' };

/** Packs parameters as RGBA texels; returns their first texel. */
class Texels {
  constructor() { this.data = []; }
  get count() { return this.data.length / 4; }
  add(rows) { const at = this.count; for (const r of rows) this.data.push(r[0] || 0, r[1] || 0, r[2] || 0, r[3] || 0); return at; }
  array() { const n = Math.max(1, Math.ceil(this.count / W)); const a = new Float32Array(n * W * 4); a.set(this.data); return [a, n]; }
}

const READS = `
vec4 P(int i) { return texelFetch(u_params, ivec2(i & ${W - 1}, i >> 10), 0); }
float pwl(int at, int k, int ch, float x) {
  float t = clamp(x, 0.0, 1.0) * float(k - 1);
  int i = min(int(t), k - 2);
  float f = t - float(i), lo = P(at + i)[ch], hi = P(at + i + 1)[ch];
  return lo + (hi - lo) * f;
}
vec3 node(int n, ivec3 i) { return texelFetch(u_grid, i, 0).rgb; }
vec3 tetrahedral(int n, vec3 u) {
  vec3 x = clamp(u, 0.0, 1.0) * float(n - 1);
  ivec3 i0 = min(ivec3(x), ivec3(n - 2));
  vec3 f = x - vec3(i0);
  ivec3 first = (f.r >= f.g && f.r >= f.b) ? ivec3(1, 0, 0) : (f.g >= f.b ? ivec3(0, 1, 0) : ivec3(0, 0, 1));
  ivec3 last = (f.b <= f.r && f.b <= f.g) ? ivec3(0, 0, 1) : (f.g <= f.r ? ivec3(0, 1, 0) : ivec3(1, 0, 0));
  float X = max(max(f.r, f.g), f.b), Z = min(min(f.r, f.g), f.b);
  float Y = max(min(f.r, f.g), min(max(f.r, f.g), f.b));
  return node(n, i0) * (1.0 - X) + node(n, i0 + first) * (X - Y)
       + node(n, i0 + ivec3(1) - last) * (Y - Z) + node(n, i0 + ivec3(1)) * Z;
}
vec3 trilinear(int n, vec3 u) {
  vec3 x = clamp(u, 0.0, 1.0) * float(n - 1);
  ivec3 i = min(ivec3(x), ivec3(n - 2));
  vec3 f = x - vec3(i);
  vec3 c00 = node(n, i) * (1.0 - f.r) + node(n, i + ivec3(1, 0, 0)) * f.r;
  vec3 c10 = node(n, i + ivec3(0, 1, 0)) * (1.0 - f.r) + node(n, i + ivec3(1, 1, 0)) * f.r;
  vec3 c01 = node(n, i + ivec3(0, 0, 1)) * (1.0 - f.r) + node(n, i + ivec3(1, 0, 1)) * f.r;
  vec3 c11 = node(n, i + ivec3(0, 1, 1)) * (1.0 - f.r) + node(n, i + ivec3(1, 1, 1)) * f.r;
  return (c00 * (1.0 - f.g) + c10 * f.g) * (1.0 - f.b) + (c01 * (1.0 - f.g) + c11 * f.g) * f.b;
}`;

/** The network's body: GLSL statements from `x` (domain-normalised, clamped) to `y`. */
function networkBody(net, tex) {
  const c = net.config, p = net.params, body = ['    vec3 u = x;'];
  if (c.in_curve) {
    const at = tex.add(Array.from({ length: c.in_curve }, (_, k) => [0, 1, 2].map((ch) => p.cin[ch * c.in_curve + k])));
    body.push(`    x += vec3(pwl(${at}, ${c.in_curve}, 0, x.r), pwl(${at}, ${c.in_curve}, 1, x.g), pwl(${at}, ${c.in_curve}, 2, x.b));`);
  }
  const d = net.inputs, feats = ['x.r', 'x.g', 'x.b'];
  for (let k = 0; k < (c.fourier || 0); k++) {
    const w = lit(Math.PI * 2 ** k);
    feats.push(...'rgb'.split('').map((ch) => `sin(x.${ch} * ${w})`), ...'rgb'.split('').map((ch) => `cos(x.${ch} * ${w})`));
  }
  if (c.minmax) feats.push('max(max(x.r, x.g), x.b)', 'min(min(x.r, x.g), x.b)');
  body.push(`    vec4 h0[${Math.ceil(d / 4)}];`);
  for (let j = 0; j < Math.ceil(d / 4); j++) body.push(`    h0[${j}] = vec4(0.0);`);
  feats.forEach((f, j) => body.push(`    h0[${j >> 2}][${j & 3}] = ${c.center ? `${f} * 2.0 - 1.0` : f};`));
  let inp = d;
  net.widths.forEach((out, i) => {
    const W4 = Math.ceil(inp / 4), O4 = Math.ceil(out / 4), Wt = p[`W${i}`], b = p[`b${i}`], last = i === net.widths.length - 1;
    const rows = [];
    for (let o = 0; o < out; o++) for (let k = 0; k < W4; k++) rows.push([0, 1, 2, 3].map((j) => (4 * k + j < inp ? Wt[o * inp + 4 * k + j] : 0)));
    const wAt = tex.add(rows), bAt = tex.add(Array.from({ length: O4 }, (_, k) => [0, 1, 2, 3].map((j) => b[4 * k + j])));
    body.push(`    vec4 h${i + 1}[${O4}];`, `    for (int k = 0; k < ${O4}; k++) h${i + 1}[k] = vec4(0.0);`,
      `    for (int o = 0; o < ${out}; o++) {`, '        float z = 0.0;',
      `        for (int k = 0; k < ${W4}; k++) z += dot(P(${wAt} + o * ${W4} + k), h${i}[k]);`,
      `        z += P(${bAt} + (o >> 2))[o & 3];`, `        h${i + 1}[o >> 2][o & 3] = ${last ? 'z' : 'act(z)'};`, '    }');
    inp = out;
  });
  body.push(`    vec3 y = h${net.widths.length}[0].rgb;`);
  if (net.skip === 'identity') body.push('    y += x;');
  else if (net.skip === 'linear') {
    const at = tex.add([0, 1, 2].map((i) => [p.A[3 * i], p.A[3 * i + 1], p.A[3 * i + 2], p.c[i]]));
    body.push(`    y += vec3(dot(P(${at}).xyz, x), dot(P(${at + 1}).xyz, x), dot(P(${at + 2}).xyz, x)) + vec3(P(${at}).w, P(${at + 1}).w, P(${at + 2}).w);`);
  }
  if (c.out_curve) {
    const at = tex.add(Array.from({ length: c.out_curve }, (_, k) => [0, 1, 2].map((ch) => p.cout[ch * c.out_curve + k])));
    body.push(`    y += vec3(pwl(${at}, ${c.out_curve}, 0, y.r), pwl(${at}, ${c.out_curve}, 1, y.g), pwl(${at}, ${c.out_curve}, 2, y.b));`);
  }
  if (c.fix) body.push(`    y += tetrahedral(${c.fix.grid}, u);`);
  return body;
}

/**
 * The fragment shader of a Network (from readNlut) and the data it reads: {source, params
 * (Float32Array RGBA, width 1024), rows, grid (Float32Array N³×3 for u_grid, or null), n}.
 * `vec3 lutplug_apply(vec3 rgb)` grades input RGB; main() grades u_image with u_mix and a wipe
 * at u_split (left of it: the original).
 */
export function fragmentShader(net) {
  const tex = new Texels(), body = ['vec3 lutplug_apply(vec3 rgb) {', '    vec3 x = rgb;'];
  if (net.shaper) {
    const m = net.shaper.length / 3, s = net.shaper;
    const at = tex.add(Array.from({ length: m }, (_, i) => [s[3 * i], s[3 * i + 1], s[3 * i + 2]]));
    body.push(`    x = (x - ${vec3(net.shaperDomain[0])}) * ${vec3(net.shaperScale)};`,
      '    for (int c = 0; c < 3; c++) {', `        float t = clamp(x[c], 0.0, 1.0) * ${lit(m - 1)};`,
      `        int i = min(int(t), ${m - 2});`, '        float f = t - float(i);',
      `        x[c] = P(${at} + i)[c] * (1.0 - f) + P(${at} + i + 1)[c] * f;`, '    }');
  }
  body.push(`    x = clamp((x - ${vec3(net.domain[0])}) * ${vec3(net.scale)}, 0.0, 1.0);`);
  let grid = null, n = 0;
  if (net.latticeGrid) {
    grid = net.latticeNodes(); n = net.latticeGrid;
    body.push(`    return ${net.config.lattice.interpolation}(${n}, x);`);
  } else {
    if (net.config.fix) { grid = net.fixLattice(); n = net.config.fix.grid; }
    body.push(...networkBody(net, tex), '    return y;');
  }
  body.push('}');
  const [params, rows] = tex.array();
  const source = ['#version 300 es', 'precision highp float;', 'precision highp int;', 'precision highp sampler3D;',
    'uniform highp sampler2D u_params;', 'uniform highp sampler3D u_grid;', 'uniform highp sampler2D u_image;',
    'uniform float u_mix;', 'uniform float u_split;', 'uniform int u_flip;', 'out vec4 frag;',
    `float act(float z) { return ${ACT[net.config.act || 'relu']}; }`, READS, ...body,
    'void main() {', '    ivec2 p = ivec2(gl_FragCoord.xy);', '    ivec2 size = textureSize(u_image, 0);',
    '    if (u_flip == 1) p.y = size.y - 1 - p.y;', '    vec4 c = texelFetch(u_image, p, 0);',
    '    vec3 g = mix(c.rgb, lutplug_apply(c.rgb), u_mix);',
    '    frag = vec4(gl_FragCoord.x < u_split * float(size.x) ? c.rgb : g, c.a);', '}'].join('\n');
  return { source, params, rows, grid, n };
}

const VERTEX = '#version 300 es\nin vec2 a;\nvoid main() { gl_Position = vec4(a, 0.0, 1.0); }';

/** Grades pictures with a .nlut in a WebGL2 canvas. */
export class Grader {
  constructor(canvas) {
    const gl = canvas.getContext('webgl2', { premultipliedAlpha: false, preserveDrawingBuffer: true, antialias: false });
    if (!gl) throw new Error('this browser has no WebGL2');
    this.floatTarget = Boolean(gl.getExtension('EXT_color_buffer_float'));
    this.canvas = canvas; this.gl = gl; this.program = null; this.image = null;
    const buf = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buf);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 3, -1, -1, 3]), gl.STATIC_DRAW);
    this.textures = { params: gl.createTexture(), grid: gl.createTexture(), image: gl.createTexture() };
  }

  texture(unit, target, tex) {
    const gl = this.gl;
    gl.activeTexture(gl.TEXTURE0 + unit);
    gl.bindTexture(target, tex);
    for (const k of [gl.TEXTURE_MIN_FILTER, gl.TEXTURE_MAG_FILTER]) gl.texParameteri(target, k, gl.NEAREST);
    for (const k of [gl.TEXTURE_WRAP_S, gl.TEXTURE_WRAP_T]) gl.texParameteri(target, k, gl.CLAMP_TO_EDGE);
  }

  /** Build the shader and textures of a Network; returns {ms, source}. */
  setNetwork(net) {
    const t0 = performance.now(), gl = this.gl, shader = fragmentShader(net);
    const compile = (type, src) => {
      const s = gl.createShader(type);
      gl.shaderSource(s, src); gl.compileShader(s);
      if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(`shader does not compile: ${gl.getShaderInfoLog(s)}`);
      return s;
    };
    const prog = gl.createProgram();
    gl.attachShader(prog, compile(gl.VERTEX_SHADER, VERTEX));
    gl.attachShader(prog, compile(gl.FRAGMENT_SHADER, shader.source));
    gl.bindAttribLocation(prog, 0, 'a');
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(`shader does not link: ${gl.getProgramInfoLog(prog)}`);
    if (this.program) gl.deleteProgram(this.program);
    this.program = prog;
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    this.texture(0, gl.TEXTURE_2D, this.textures.params);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA32F, W, shader.rows, 0, gl.RGBA, gl.FLOAT, shader.params);
    this.texture(1, gl.TEXTURE_3D, this.textures.grid);
    const n = shader.n || 1;
    gl.texImage3D(gl.TEXTURE_3D, 0, gl.RGB32F, n, n, n, 0, gl.RGB, gl.FLOAT, shader.grid || new Float32Array(3));
    gl.useProgram(prog);
    gl.uniform1i(gl.getUniformLocation(prog, 'u_params'), 0);
    gl.uniform1i(gl.getUniformLocation(prog, 'u_grid'), 1);
    gl.uniform1i(gl.getUniformLocation(prog, 'u_image'), 2);
    this.network = net;
    return { ms: performance.now() - t0, source: shader.source };
  }

  /** The picture to grade: an ImageBitmap, image, canvas or video (its current frame). */
  setImage(source) {
    const gl = this.gl;
    this.texture(2, gl.TEXTURE_2D, this.textures.image);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, source);
    this.width = source.videoWidth || source.width; this.height = source.videoHeight || source.height;
  }

  /** Draw into the canvas (mix 0..1; split: the wipe, 0 = graded everywhere). */
  draw(mix = 1, split = 0, target = null) {
    const gl = this.gl;
    if (!target && (this.canvas.width !== this.width || this.canvas.height !== this.height)) {
      this.canvas.width = this.width; this.canvas.height = this.height;
    }
    gl.bindFramebuffer(gl.FRAMEBUFFER, target);
    gl.viewport(0, 0, this.width, this.height);
    gl.useProgram(this.program);
    gl.uniform1f(gl.getUniformLocation(this.program, 'u_mix'), mix);
    gl.uniform1f(gl.getUniformLocation(this.program, 'u_split'), split);
    gl.uniform1i(gl.getUniformLocation(this.program, 'u_flip'), target ? 0 : 1);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
  }

  /** The graded picture at full resolution as floats: Float32Array RGBA, rows top to bottom. */
  pixels(mix = 1) {
    const gl = this.gl;
    if (!this.floatTarget) throw new Error('this browser cannot render to float textures (EXT_color_buffer_float)');
    const tex = gl.createTexture(), fb = gl.createFramebuffer();
    this.texture(3, gl.TEXTURE_2D, tex);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA32F, this.width, this.height, 0, gl.RGBA, gl.FLOAT, null);
    gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, 0);
    try {
      this.draw(mix, 0, fb);
      const out = new Float32Array(this.width * this.height * 4);
      gl.readPixels(0, 0, this.width, this.height, gl.RGBA, gl.FLOAT, out);
      return out;
    } finally {
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
      gl.deleteFramebuffer(fb); gl.deleteTexture(tex);
    }
  }
}
