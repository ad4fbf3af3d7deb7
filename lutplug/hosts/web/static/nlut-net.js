// A decoded .nlut: the Network that readNlut (nlut.js) returns and nlut-gl.js grades with;
// nlut-cpu.js evaluates it on the CPU.
const f32 = Math.fround;

/** A decoded .nlut (made by readNlut): its network, domain, shaper, description and signature. */
export class Network {
  constructor(fields) {
    Object.assign(this, fields);
    const c = this.config;
    this.skip = c.skip || 'identity';
    this.widths = [...c.hidden, 3];
    this.inputs = 3 + 6 * (c.fourier || 0) + (c.minmax ? 2 : 0);
    const [dmin, dmax] = this.domain;
    this.scale = dmin.map((lo, i) => f32(1 / (dmax[i] - lo)));
    if (this.shaper) this.shaperScale = this.shaperDomain[0].map((lo, i) => f32(1 / (this.shaperDomain[1][i] - lo)));
    this._fix = null;
    this._nodes = null;
  }

  /** Grid of a residual lattice (null without one): the shader then reads its nodes. */
  get latticeGrid() { return this.config.lattice ? this.config.lattice.grid : null; }

  get title() { return String(this.description.title || ''); }

  /** Node corrections as a dense N³×3 lattice ([b, g, r], float32 sums), or null. */
  fixLattice() {
    if (!this.config.fix || this._fix) return this._fix;
    const n = this.config.fix.grid, rows = this.params.fix, s = f32(this.config.fix.scale);
    const dense = new Float32Array(n * n * n * 3);
    for (let k = 0; k < rows.length; k += 6) {
      const at = ((rows[k + 2] * n + rows[k + 1]) * n + rows[k]) * 3;
      for (let c = 0; c < 3; c++) dense[at + c] += f32(rows[k + 3 + c] * s);
    }
    return (this._fix = dense);
  }

  /** One-line facts for a page: network, size, version, signature. */
  summary() {
    const c = this.config, parts = [`${JSON.stringify(c.hidden)} ${c.act || 'relu'}`];
    if (c.fix) parts.push(`${c.fix.count} node corrections`);
    if (c.lattice) parts.push(`${c.lattice.grid}³ residual lattice`);
    if (this.shaper) parts.push(`shaper ${this.shaper.length / 3}`);
    return `${parts.join(' + ')} · .nlut v${this.version}, ${this.bytes.toLocaleString('en')} B · signature ${this.signature.state}`;
  }
}
