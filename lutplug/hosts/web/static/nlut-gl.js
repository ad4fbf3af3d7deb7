// A .nlut as WebGL2 shaders (GLSL ES 3.00), with the maths of lutplug/codec/model/numpy_net.py:
// the network's weights are constants of the source (4×4 blocks, no texture read per weight),
// curves and shaper knots an RGBA32F texture; lattices (node corrections, residual lattices, the
// baked preview) are RGBA32F 3D textures read by hand-written tetrahedral or trilinear
// interpolation, never the hardware's filtering. Lattice nodes are rendered on the GPU: the
// network at every node, one slice of the 3D texture a draw.

/** The most weights a network's shader holds as constants. */
export const MAX_CONSTANTS = 1 << 16;

const lit = (v) => { const s = Math.fround(v).toPrecision(9); return /[.e]/.test(s) ? s : s + '.0'; };
const vec = (v) => `vec${v.length}(${v.map(lit).join(', ')})`;
const ACT = { relu: 'max(z, 0.0)', silu: 'z / (1.0 + exp(-z))', tanh: 'tanh(z)', sin: 'sin(z)' };

const LIB = `vec3 knot(int i) { return texelFetch(u_knots, ivec2(i & 4095, i >> 12), 0).rgb; }
vec3 node(highp sampler3D s, ivec3 i) { return texelFetch(s, i, 0).rgb; }
vec3 tetrahedral(highp sampler3D s, vec3 u) {
  int n = textureSize(s, 0).x;
  vec3 x = clamp(u, 0.0, 1.0) * float(n - 1);
  ivec3 i0 = min(ivec3(x), ivec3(n - 2));
  vec3 f = x - vec3(i0);
  ivec3 first = (f.r >= f.g && f.r >= f.b) ? ivec3(1, 0, 0) : (f.g >= f.b ? ivec3(0, 1, 0) : ivec3(0, 0, 1));
  ivec3 last = (f.b <= f.r && f.b <= f.g) ? ivec3(0, 0, 1) : (f.g <= f.r ? ivec3(0, 1, 0) : ivec3(1, 0, 0));
  float X = max(max(f.r, f.g), f.b), Z = min(min(f.r, f.g), f.b);
  float Y = max(min(f.r, f.g), min(max(f.r, f.g), f.b));
  return node(s, i0) * (1.0 - X) + node(s, i0 + first) * (X - Y)
       + node(s, i0 + ivec3(1) - last) * (Y - Z) + node(s, i0 + ivec3(1)) * Z;
}
vec3 trilinear(highp sampler3D s, vec3 u) {
  int n = textureSize(s, 0).x;
  vec3 x = clamp(u, 0.0, 1.0) * float(n - 1);
  ivec3 i = min(ivec3(x), ivec3(n - 2));
  vec3 f = x - vec3(i);
  vec3 c00 = mix(node(s, i), node(s, i + ivec3(1, 0, 0)), f.r), c10 = mix(node(s, i + ivec3(0, 1, 0)), node(s, i + ivec3(1, 1, 0)), f.r);
  vec3 c01 = mix(node(s, i + ivec3(0, 0, 1)), node(s, i + ivec3(1, 0, 1)), f.r), c11 = mix(node(s, i + ivec3(0, 1, 1)), node(s, i + ivec3(1, 1, 1)), f.r);
  return mix(mix(c00, c10, f.g), mix(c01, c11, f.g), f.b);
}`;

/** `vec3 NAME(vec3 x)`: per-channel piecewise-linear curves through `rows` ([r, g, b] knots),
 * which go to `knots` (the RGBA32F texture u_knots, 4096 wide: a constant array indexed per
 * pixel costs SwiftShader time in proportion to its length). */
function curve(name, rows, knots) {
  const k = rows.length, at = knots.length;
  knots.push(...rows);
  const read = (d) => `vec3(knot(${at + d} + i.r).r, knot(${at + d} + i.g).g, knot(${at + d} + i.b).b)`;
  return `vec3 ${name}(vec3 x) {
  vec3 t = clamp(x, 0.0, 1.0) * ${lit(k - 1)}, lo;
  ivec3 i = min(ivec3(t), ivec3(${k - 2}));
  return (lo = ${read(0)}) + (${read(1)} - lo) * (t - vec3(i));
}`;
}

const rows = (c, k) => Array.from({ length: k }, (_, i) => [c[i], c[k + i], c[2 * k + i]]); // channel-major → rows

/** GLSL of `vec3 network(vec3 u)` (u: domain-normalised input) with its weights as constants. */
function networkGlsl(net, knots) {
  const c = net.config, p = net.params, out = [`vec4 act(vec4 z) { return ${ACT[c.act || 'relu']}; }`];
  const weights = net.widths.reduce((s, w, i) => s + w * (i ? net.widths[i - 1] : net.inputs), 0);
  if (weights > MAX_CONSTANTS) {
    throw new Error(`${net.source}: network of ${weights.toLocaleString('en')} weights is more than the ${MAX_CONSTANTS.toLocaleString('en')} a shader holds here`);
  }
  if (c.in_curve) out.push(curve('cin', rows(p.cin, c.in_curve), knots));
  if (c.out_curve) out.push(curve('cout', rows(p.cout, c.out_curve), knots));
  const body = ['vec3 network(vec3 u) {', '  vec3 x = clamp(u, 0.0, 1.0);'];
  if (c.in_curve) body.push('  x += cin(x);');
  const feats = ['x.r', 'x.g', 'x.b'];
  for (let k = 0; k < (c.fourier || 0); k++) {
    const w = lit(Math.PI * 2 ** k);
    for (const f of ['sin', 'cos']) feats.push(...['r', 'g', 'b'].map((ch) => `${f}(x.${ch} * ${w})`));
  }
  if (c.minmax) feats.push('max(max(x.r, x.g), x.b)', 'min(min(x.r, x.g), x.b)');
  for (let j = 0; j < feats.length; j += 4) {
    const v = [0, 1, 2, 3].map((i) => feats[j + i] || '0.0').join(', ');
    body.push(`  vec4 h0_${j >> 2} = vec4(${v})${c.center ? ' * 2.0 - 1.0' : ''};`); // padding lanes meet zero weights
  }
  let inp = net.inputs;
  net.widths.forEach((n, i) => {
    const W = p[`W${i}`], b = p[`b${i}`], last = i === net.widths.length - 1;
    for (let j = 0; j < n; j += 4) {
      const terms = [vec([0, 1, 2, 3].map((r) => (j + r < n ? b[j + r] : 0)))];
      for (let k = 0; k < inp; k += 4) { // column-major: column q holds input k+q's weights to outputs j..j+3
        const m = [];
        for (let q = 0; q < 4; q++) for (let r = 0; r < 4; r++) m.push(j + r < n && k + q < inp ? W[(j + r) * inp + k + q] : 0);
        terms.push(`mat4(${m.map(lit).join(', ')}) * h${i}_${k >> 2}`);
      }
      body.push(`  vec4 h${i + 1}_${j >> 2} = ${last ? '' : 'act'}(${terms.join('\n    + ')});`);
    }
    inp = n;
  });
  body.push(`  vec3 y = h${net.widths.length}_0.rgb;`);
  if (net.skip === 'identity') body.push('  y += x;');
  else if (net.skip === 'linear') {
    const A = p.A; // mat3 is column-major: column k holds input k's weights
    body.push(`  y += mat3(${[0, 1, 2].flatMap((k) => [A[k], A[3 + k], A[6 + k]]).map(lit).join(', ')}) * x + ${vec(Array.from(p.c))};`);
  }
  if (c.out_curve) body.push('  y += cout(y);');
  if (c.fix) body.push('  y += tetrahedral(u_fix, u);');
  body.push('  return y;', '}');
  return [...out, ...body].join('\n');
}

const HEAD = ['#version 300 es', 'precision highp float;', 'precision highp int;', 'precision highp sampler3D;',
  'uniform highp sampler3D u_fix;', 'uniform highp sampler2D u_knots;', 'out vec4 frag;'].join('\n');

/**
 * The shaders of a Network (from readNlut): {exact, baked, nodes, knots (rows for u_knots)}.
 * `exact` and `baked` grade u_image with u_mix and a wipe at u_split (left of it: the
 * original): `exact` runs the network
 * per pixel, or reads a residual lattice's nodes in u_grid as NeuralLUT.apply does; `baked`
 * reads the network baked into u_grid, tetrahedrally. `nodes` renders slice u_layer of a u_n³
 * lattice: the network at its nodes, plus, with a residual lattice, the correction in u_q, added
 * in the log-compressed space (lattice.lattice_nodes).
 */
export function shaders(net) {
  const c = net.config, lattice = net.latticeGrid, knots = [], network = networkGlsl(net, knots), coords = ['vec3 coordinates(vec3 x) {'];
  if (net.shaper) {
    const s = net.shaper;
    coords.unshift(curve('shaper', Array.from({ length: s.length / 3 }, (_, i) => [s[3 * i], s[3 * i + 1], s[3 * i + 2]]), knots));
    coords.push(`  x = shaper((x - ${vec(net.shaperDomain[0])}) * ${vec(net.shaperScale)});`);
  }
  coords.push(`  return clamp((x - ${vec(net.domain[0])}) * ${vec(net.scale)}, 0.0, 1.0);`, '}');
  const grade = (read, code = '') => [HEAD, 'uniform highp sampler3D u_grid;', 'uniform highp sampler2D u_image;',
    'uniform float u_mix;', 'uniform float u_split;', 'uniform int u_flip;', LIB, ...coords, code,
    'void main() {', '  ivec2 p = ivec2(gl_FragCoord.xy), size = textureSize(u_image, 0);',
    '  if (u_flip == 1) p.y = size.y - 1 - p.y;', '  vec4 c = texelFetch(u_image, p, 0);',
    `  vec3 u = coordinates(c.rgb), g = mix(c.rgb, ${read}, u_mix);`,
    '  frag = vec4(gl_FragCoord.x < u_split * float(size.x) ? c.rgb : g, c.a);', '}'].join('\n');
  const nodes = [HEAD, 'uniform highp sampler3D u_q;', 'uniform int u_layer;', 'uniform int u_n;', LIB, network,
    'void main() {', '  ivec3 i = ivec3(ivec2(gl_FragCoord.xy), u_layer);', '  vec3 y = network(vec3(i) / float(u_n - 1));',
    lattice ? `  for (int c = 0; c < 3; c++) {
    float w = (y[c] > 1.0 ? 1.0 + log(y[c]) : y[c]) + texelFetch(u_q, i, 0)[c];
    y[c] = w > 1.0 ? exp(min(w, 80.0) - 1.0) : w;
  }` : '', '  frag = vec4(y, 1.0);', '}'].join('\n');
  return {
    exact: lattice ? grade(`${c.lattice.interpolation}(u_grid, u)`) : grade('network(u)', network),
    baked: grade('tetrahedral(u_grid, u)'), nodes, knots,
  };
}

const VERTEX = '#version 300 es\nin vec2 a;\nvoid main() { gl_Position = vec4(a, 0.0, 1.0); }';
const UNITS = { u_knots: 0, u_fix: 1, u_image: 2, u_grid: 3, u_q: 4 };

/** Grades pictures with a .nlut in a WebGL2 canvas. */
export class Grader {
  constructor(canvas) {
    const gl = canvas.getContext('webgl2', { premultipliedAlpha: false, preserveDrawingBuffer: true, antialias: false });
    if (!gl) throw new Error('this browser has no WebGL2');
    this.floatTarget = Boolean(gl.getExtension('EXT_color_buffer_float'));
    this.canvas = canvas; this.gl = gl; this.programs = {}; this.image = gl.createTexture(); this.grids = [];
    gl.bindBuffer(gl.ARRAY_BUFFER, gl.createBuffer());
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 3, -1, -1, 3]), gl.STATIC_DRAW);
  }

  /** Bind `tex` (new when null) to texture unit `unit`, nearest, clamped; returns it. */
  texture(unit, target, tex = null) {
    const gl = this.gl;
    gl.activeTexture(gl.TEXTURE0 + unit);
    gl.bindTexture(target, tex = tex || gl.createTexture());
    for (const k of [gl.TEXTURE_MIN_FILTER, gl.TEXTURE_MAG_FILTER]) gl.texParameteri(target, k, gl.NEAREST);
    for (const k of [gl.TEXTURE_WRAP_S, gl.TEXTURE_WRAP_T, gl.TEXTURE_WRAP_R]) gl.texParameteri(target, k, gl.CLAMP_TO_EDGE);
    return tex;
  }

  /** Upload RGB rows (`data`: 3 floats a texel; null: uninitialised, for rendering) as an
   * RGBA32F texture (the format nodes are rendered into; RGB32F is not renderable) on `unit`: 2D w×h,
   * or 3D n³. */
  upload(unit, data, w, h = 0) {
    const gl = this.gl, target = h ? gl.TEXTURE_2D : gl.TEXTURE_3D, tex = this.texture(unit, target);
    const rgba = data && new Float32Array((h ? w * h : w * w * w) * 4);
    if (data) for (let i = 0, j = 0; i < data.length; i += 3, j += 4) { rgba[j] = data[i]; rgba[j + 1] = data[i + 1]; rgba[j + 2] = data[i + 2]; }
    if (h) gl.texImage2D(target, 0, gl.RGBA32F, w, h, 0, gl.RGBA, gl.FLOAT, rgba);
    else gl.texImage3D(target, 0, gl.RGBA32F, w, w, w, 0, gl.RGBA, gl.FLOAT, rgba);
    this.grids.push(tex);
    return tex;
  }

  /** Compile and link a fragment shader (with the full-screen triangle), samplers bound to their units. */
  compile(source) {
    const gl = this.gl, prog = gl.createProgram();
    for (const [type, src] of [[gl.VERTEX_SHADER, VERTEX], [gl.FRAGMENT_SHADER, source]]) {
      const s = gl.createShader(type);
      gl.shaderSource(s, src); gl.compileShader(s);
      if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(`shader does not compile: ${gl.getShaderInfoLog(s)}`);
      gl.attachShader(prog, s);
    }
    gl.bindAttribLocation(prog, 0, 'a');
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(`shader does not link: ${gl.getProgramInfoLog(prog)}`);
    gl.useProgram(prog);
    for (const [name, unit] of Object.entries(UNITS)) gl.uniform1i(gl.getUniformLocation(prog, name), unit);
    return prog;
  }

  /** Render the network at every node of an n³ lattice (GPU) into a texture on unit 3. */
  renderNodes(source, n) {
    const gl = this.gl, prog = this.compile(source), fb = gl.createFramebuffer(), tex = this.upload(5, null, n);
    gl.uniform1i(gl.getUniformLocation(prog, 'u_n'), n);
    gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
    gl.viewport(0, 0, n, n);
    for (let z = 0; z < n; z++) {
      gl.framebufferTextureLayer(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, tex, 0, z);
      gl.uniform1i(gl.getUniformLocation(prog, 'u_layer'), z);
      this.triangle();
    }
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.deleteFramebuffer(fb); gl.deleteProgram(prog);
    this.texture(3, gl.TEXTURE_3D, tex);
  }

  /**
   * Build the shaders and textures of a Network; resolves to {ms, bake}. `bake` (a lattice size, or
   * 0): draw through the network baked to bake³ nodes on the GPU (fast: the network exactly at
   * the nodes, tetrahedral between them) instead of running it per pixel; pixels() stays exact.
   * A residual lattice is always read from its own nodes, rendered on the GPU (computed on the
   * CPU by nlut-cpu.js without EXT_color_buffer_float, which baking needs).
   */
  async setNetwork(net, { bake = 0 } = {}) {
    if (bake !== 0 && !(Number.isInteger(bake) && bake >= 2 && bake <= 129)) throw new Error(`bake = ${bake}: 0 or a lattice size of 2 to 129`);
    const t0 = performance.now(), gl = this.gl, c = net.config, lattice = net.latticeGrid;
    const n = lattice || (this.floatTarget && bake) || 0;
    this.sources = shaders(net);
    for (const tex of this.grids.splice(0)) gl.deleteTexture(tex);
    for (const prog of Object.values(this.programs)) gl.deleteProgram(prog);
    this.programs = {};
    const knots = this.sources.knots, h = Math.ceil(knots.length / 4096) || 1, data = new Float32Array(h * 4096 * 3);
    knots.forEach((k, i) => data.set(k, 3 * i));
    this.upload(0, data, 4096, h);
    if (c.fix) this.upload(1, net.fixLattice(), c.fix.grid);
    if (lattice && !this.floatTarget) this.upload(3, (await import('./nlut-cpu.js')).latticeNodes(net), n);
    else if (n) {
      if (lattice) {
        const step = Math.fround(c.lattice.step);
        this.upload(4, Float32Array.from(net.params.lattice, (q) => Math.fround(step * q)), n);
      }
      this.renderNodes(this.sources.nodes, n);
    }
    this.network = net; this.baked = lattice ? 0 : n;
    this.program(false);
    gl.finish(); // the nodes are rendered and the program is ready: the time is the whole build
    return { ms: performance.now() - t0, bake: this.baked };
  }

  /** The program that draws: the baked preview if there is one and not `exact`, else the exact grade (compiled on first use). */
  program(exact) {
    const kind = this.baked && !exact ? 'baked' : 'exact';
    return this.programs[kind] || (this.programs[kind] = this.compile(this.sources[kind]));
  }

  /** The picture to grade: an ImageBitmap, image, canvas or video (its current frame). */
  setImage(source) {
    const gl = this.gl;
    this.texture(2, gl.TEXTURE_2D, this.image);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, source);
    this.width = source.videoWidth || source.width; this.height = source.videoHeight || source.height;
  }

  triangle() {
    const gl = this.gl;
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
  }

  /** Draw into the canvas (mix 0..1; split: the wipe, 0 = graded everywhere; exact: never the baked preview). */
  draw(mix = 1, split = 0, target = null, exact = false) {
    const gl = this.gl, prog = this.program(exact);
    if (!target && (this.canvas.width !== this.width || this.canvas.height !== this.height)) {
      this.canvas.width = this.width; this.canvas.height = this.height;
    }
    gl.bindFramebuffer(gl.FRAMEBUFFER, target);
    gl.viewport(0, 0, this.width, this.height);
    gl.useProgram(prog);
    gl.uniform1f(gl.getUniformLocation(prog, 'u_mix'), mix);
    gl.uniform1f(gl.getUniformLocation(prog, 'u_split'), split);
    gl.uniform1i(gl.getUniformLocation(prog, 'u_flip'), target ? 0 : 1);
    this.triangle();
  }

  /** The graded picture at full resolution as floats: Float32Array RGBA, rows top to bottom;
   * exact (the network per pixel) unless `exact` is false, then what draw() shows. */
  pixels(mix = 1, exact = true) {
    const gl = this.gl;
    if (!this.floatTarget) throw new Error('this browser cannot render to float textures (EXT_color_buffer_float)');
    const tex = this.texture(6, gl.TEXTURE_2D), fb = gl.createFramebuffer();
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA32F, this.width, this.height, 0, gl.RGBA, gl.FLOAT, null);
    gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, 0);
    try {
      this.draw(mix, 0, fb, exact);
      const out = new Float32Array(this.width * this.height * 4);
      gl.readPixels(0, 0, this.width, this.height, gl.RGBA, gl.FLOAT, out);
      return out;
    } finally {
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
      gl.deleteFramebuffer(fb); gl.deleteTexture(tex);
    }
  }
}
