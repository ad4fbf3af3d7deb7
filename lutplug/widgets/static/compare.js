// lutplug CompareWidget front end (anywidget ES module, no dependencies, no network).
// The kernel sends both graded pictures as PNG plus per-pixel values (probe: little-endian
// float16, h×w×10: source RGB, original RGB, compressed RGB, ΔE00). Wipe, toggle, side by side,
// heat map and hover are drawn here; only mix, exposure and a new picture go back to the kernel.

const VIEWS = [["wipe", "Wipe"], ["side", "Side by side"], ["toggle", "Toggle A/B"], ["heatmap", "ΔE00 heat map"]];
const GAP = 8; // pixels between the two pictures of the side-by-side view
const PROBE = 10;

export function bytesOf(value) {
  if (!value) return new Uint8Array(0);
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return new Uint8Array(0);
}

let HALF = null; // float16 bit pattern -> float32, built on first use
function halfTable() {
  if (HALF) return HALF;
  HALF = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
    HALF[h] = e === 0 ? sign * 2 ** -14 * (f / 1024)
      : e === 31 ? (f ? NaN : sign * Infinity) : sign * 2 ** (e - 15) * (1 + f / 1024);
  }
  return HALF;
}

export function decodeHalf(value) {
  const src = bytesOf(value);
  const copy = new Uint8Array(src.length - (src.length % 2));
  copy.set(src.subarray(0, copy.length)); // aligned copy for the Uint16Array view
  const bits = new Uint16Array(copy.buffer), table = halfTable(), out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

async function decodePng(value) {
  const data = bytesOf(value);
  if (!data.length) return null;
  return await createImageBitmap(new Blob([data], { type: "image/png" }));
}

function element(tag, className, parent, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function fmt(value, digits) {
  return value === null || value === undefined ? "—" : Number(value).toFixed(digits);
}

function bytesText(n) {
  if (n === null || n === undefined) return "n/a";
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : n >= 10240 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

function slider(parent, label, min, max, step, title) {
  const wrap = element("label", "lp-slider", parent);
  wrap.title = title;
  element("span", "lp-slider-name", wrap, label);
  const input = element("input", "", wrap);
  Object.assign(input, { type: "range", min, max, step });
  const value = element("span", "lp-slider-value", wrap);
  return { input, value };
}

function render({ model, el }) {
  const root = element("div", "lutplug-compare", el);
  root.dataset.ready = "0";
  const cleanups = [];
  const listen = (target, type, fn, opts) => {
    target.addEventListener(type, fn, opts);
    cleanups.push(() => target.removeEventListener(type, fn, opts));
  };

  // -- toolbar ---------------------------------------------------------------------------
  const toolbar = element("div", "lp-toolbar", root);
  const viewButtons = {};
  const views = element("div", "lp-views", toolbar);
  for (const [name, label] of VIEWS) {
    const b = element("button", "lp-view", views, label);
    b.dataset.view = name;
    b.type = "button";
    listen(b, "click", () => { model.set("view", name); model.save_changes(); });
    viewButtons[name] = b;
  }
  const mix = slider(toolbar, "mix", 0, 1, 0.01, "strength of both grades (0 = input, 1 = full grade); recomputed by the kernel");
  const exposure = slider(toolbar, "exposure", -8, 8, 0.25, "stops applied to the input before grading (scene-linear HDR/EXR pictures)");
  const thrWrap = element("label", "lp-slider", toolbar);
  thrWrap.title = "ΔE00 shown yellow (mid-scale) in the heat map";
  element("span", "lp-slider-name", thrWrap, "threshold ΔE00");
  const threshold = element("input", "lp-threshold", thrWrap);
  Object.assign(threshold, { type: "number", min: 0.05, max: 50, step: 0.05 });
  const busy = element("span", "lp-busy", toolbar, "computing…");

  // -- picture ---------------------------------------------------------------------------
  const stage = element("div", "lp-stage", root);
  const canvas = element("canvas", "lp-canvas", stage);
  canvas.tabIndex = 0;
  canvas.setAttribute("data-lm-suppress-shortcuts", "true"); // JupyterLab: keys go to the widget
  canvas.setAttribute("aria-label", "comparison picture");
  const tagA = element("div", "lp-tag lp-tag-a", stage, "A · original");
  const tagB = element("div", "lp-tag lp-tag-b", stage, "B · compressed");
  const hint = element("div", "lp-hint", stage);

  const bar = element("div", "lp-colorbar", root);
  element("div", "lp-colorbar-title", bar, "ΔE00 (CIEDE2000) per pixel, original vs compressed");
  const barCanvas = element("canvas", "lp-colorbar-ramp", bar);
  barCanvas.width = 512;
  barCanvas.height = 16;
  const barLabels = element("div", "lp-colorbar-labels", bar);
  element("span", "lp-bar-zero", barLabels, "0");
  const barThr = element("span", "lp-bar-threshold", barLabels);
  const barMax = element("span", "lp-bar-max", barLabels);

  const hover = element("div", "lp-hover", root, "hover over the picture for RGB and ΔE00 under the cursor");
  const table = element("table", "lp-stats", root);
  const sizes = element("div", "lp-sizes", root);

  const picker = element("div", "lp-picker", root);
  element("span", "lp-picker-name", picker, "picture:");
  const file = element("input", "lp-file", picker);
  Object.assign(file, { type: "file", accept: "image/*,.exr,.dpx,.tif,.tiff,.hdr" });
  const path = element("input", "lp-path", picker);
  Object.assign(path, { type: "text", placeholder: "or a path the kernel can read (EXR, PNG, TIFF, DPX, JPEG)" });
  const load = element("button", "lp-load", picker, "Load");
  load.type = "button";
  const error = element("div", "lp-error", root);

  // -- state (all client-side) -------------------------------------------------------------
  let imgA = null, imgB = null, probe = null, heat = null, heatFor = null;
  let split = model.get("split"), showB = false, dragging = false, generation = 0;
  const ctx = canvas.getContext("2d");

  function heatCanvas() {
    const w = model.get("width"), h = model.get("height"), thr = model.get("threshold");
    if (heat && heatFor === thr) return heat;
    const ramp = bytesOf(model.get("ramp"));
    const off = heat || document.createElement("canvas");
    off.width = w; off.height = h;
    const octx = off.getContext("2d");
    const data = octx.createImageData(w, h);
    for (let i = 0; i < w * h; i++) {
      const t = Math.min(Math.max(probe[i * PROBE + 9] / (2 * thr), 0), 1);
      const k = Math.round(t * 255) * 3;
      data.data[i * 4] = ramp[k]; data.data[i * 4 + 1] = ramp[k + 1]; data.data[i * 4 + 2] = ramp[k + 2];
      data.data[i * 4 + 3] = 255;
    }
    octx.putImageData(data, 0, 0);
    heat = off; heatFor = thr;
    return heat;
  }

  function drawColorbar() {
    const ramp = bytesOf(model.get("ramp")), thr = model.get("threshold");
    const bctx = barCanvas.getContext("2d");
    const img = bctx.createImageData(barCanvas.width, barCanvas.height);
    for (let x = 0; x < barCanvas.width; x++) {
      const k = Math.round((x / (barCanvas.width - 1)) * 255) * 3;
      for (let y = 0; y < barCanvas.height; y++) {
        const o = (y * barCanvas.width + x) * 4;
        img.data[o] = ramp[k]; img.data[o + 1] = ramp[k + 1]; img.data[o + 2] = ramp[k + 2]; img.data[o + 3] = 255;
      }
    }
    bctx.putImageData(img, 0, 0);
    const mid = Math.round(barCanvas.width / 2);
    bctx.fillStyle = "#fff";
    bctx.fillRect(mid - 1, 0, 3, barCanvas.height);
    bctx.fillStyle = "#000";
    bctx.fillRect(mid - 2, 0, 1, barCanvas.height);
    bctx.fillRect(mid + 2, 0, 1, barCanvas.height);
    barThr.textContent = `▲ threshold ${thr}`;
    barMax.textContent = `≥ ${+(2 * thr).toFixed(3)}`;
  }

  function draw() {
    const view = model.get("view"), w = model.get("width"), h = model.get("height");
    for (const [name, b] of Object.entries(viewButtons)) b.classList.toggle("lp-active", name === view);
    bar.style.display = view === "heatmap" ? "" : "none";
    if (!imgA || !imgB || !w || !h) return;
    const side = view === "side";
    canvas.width = side ? 2 * w + GAP : w;
    canvas.height = h;
    canvas.style.width = `${canvas.width}px`;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    tagA.style.display = tagB.style.display = "";
    tagB.style.left = "auto";
    tagB.style.right = "6px";
    hint.textContent = "";
    if (view === "wipe") {
      const x = Math.round(split * w);
      ctx.drawImage(imgA, 0, 0);
      ctx.save();
      ctx.beginPath();
      ctx.rect(x, 0, w - x, h);
      ctx.clip();
      ctx.drawImage(imgB, 0, 0);
      ctx.restore();
      drawHandle(x, h);
      hint.textContent = "drag the line";
    } else if (side) {
      ctx.drawImage(imgA, 0, 0);
      ctx.drawImage(imgB, w + GAP, 0);
      tagB.style.right = "auto";
      tagB.style.left = `calc(${(100 * (w + GAP)) / canvas.width}% + 6px)`;
    } else if (view === "toggle") {
      ctx.drawImage(showB ? imgB : imgA, 0, 0);
      tagA.style.display = showB ? "none" : "";
      tagB.style.display = showB ? "" : "none";
      hint.textContent = "click or press Space / T to flip";
    } else {
      ctx.drawImage(heatCanvas(), 0, 0);
      tagA.style.display = tagB.style.display = "none";
      drawColorbar();
    }
    root.dataset.view = view;
    root.dataset.showing = view === "toggle" ? (showB ? "B" : "A") : "";
    root.dataset.split = String(split);
  }

  function drawHandle(x, h) {
    ctx.fillStyle = "rgba(0,0,0,0.55)";
    ctx.fillRect(x - 2, 0, 4, h);
    ctx.fillStyle = "#fff";
    ctx.fillRect(x - 1, 0, 2, h);
    const y = Math.round(h / 2);
    ctx.beginPath();
    ctx.arc(x, y, 14, 0, 2 * Math.PI);
    ctx.fillStyle = "#fff";
    ctx.fill();
    ctx.lineWidth = 2;
    ctx.strokeStyle = "rgba(0,0,0,0.6)";
    ctx.stroke();
    ctx.fillStyle = "#222";
    ctx.beginPath();
    ctx.moveTo(x - 3, y - 6); ctx.lineTo(x - 10, y); ctx.lineTo(x - 3, y + 6);
    ctx.moveTo(x + 3, y - 6); ctx.lineTo(x + 10, y); ctx.lineTo(x + 3, y + 6);
    ctx.fill();
  }

  // -- readouts --------------------------------------------------------------------------
  function renderStats() {
    const s = model.get("stats") || {};
    const img = s.image || {}, dom = s.domain || {}, t = s.target || {}, z = s.sizes || {};
    const mark = (v, limit, higherIsBetter) => {
      if (v === null || v === undefined || limit === undefined) return "";
      return (higherIsBetter ? v >= limit : v <= limit) ? "lp-ok" : "lp-miss";
    };
    const psnr = (v, de) => (v === null && de === 0 ? "∞" : fmt(v, 2));
    const row = (label, r) => `<tr><th>${label}</th>`
      + `<td class="${mark(r.de_mean, t.de_mean)}">${fmt(r.de_mean, 3)}</td>`
      + `<td class="${mark(r.de_p99, t.de_p99)}">${fmt(r.de_p99, 3)}</td>`
      + `<td class="${mark(r.de_max, t.de_max)}">${fmt(r.de_max, 3)}</td>`
      + `<td class="${mark(r.psnr, t.psnr, true)}">${psnr(r.psnr, r.de_max)}</td></tr>`;
    const scaled = img.display_width && img.display_width !== img.width
      ? `, shown at ${img.display_width}×${img.display_height}` : "";
    table.innerHTML = "<thead><tr><th></th><th>ΔE00 mean</th><th>p99</th><th>max</th><th>PSNR dB</th></tr></thead>"
      + "<tbody>" + row(`image ${img.width || "?"}×${img.height || "?"} (every pixel${scaled})`, img)
      + row(`LUT domain (${dom.points || "?"} points)`, dom)
      + `<tr class="lp-target"><th>T1 “invisible” target</th><td>≤ ${t.de_mean}</td><td>≤ ${t.de_p99}</td><td>≤ ${t.de_max}</td><td>≥ ${t.psnr}</td></tr>`
      + "</tbody>";
    const ratio = z.ratio ? `${z.ratio >= 10 ? z.ratio.toFixed(0) : z.ratio.toFixed(1)} : 1` : "n/a";
    sizes.textContent = `A ${z.original_name || ""}: ${bytesText(z.original_bytes)}   ·   `
      + `B ${z.compressed_name || ""}: ${bytesText(z.compressed_bytes)}   ·   ratio ${ratio}   ·   picture: ${img.name || ""}`;
  }

  function imageXY(event) {
    const rect = canvas.getBoundingClientRect();
    const w = model.get("width");
    let x = ((event.clientX - rect.left) / rect.width) * canvas.width;
    const y = Math.floor(((event.clientY - rect.top) / rect.height) * canvas.height);
    if (model.get("view") === "side" && x >= w) x -= w + GAP;
    return [Math.floor(x), y, x / w];
  }

  function showHover(event) {
    if (!probe) return;
    const [x, y] = imageXY(event), w = model.get("width"), h = model.get("height");
    if (x < 0 || y < 0 || x >= w || y >= h) { hover.textContent = ""; return; }
    const o = (y * w + x) * PROBE;
    const rgb = (k) => `${fmt(probe[o + k], 3)} ${fmt(probe[o + k + 1], 3)} ${fmt(probe[o + k + 2], 3)}`;
    hover.textContent = `x ${x}  y ${y}   input ${rgb(0)}   A original ${rgb(3)}   B compressed ${rgb(6)}   ΔE00 ${fmt(probe[o + 9], 2)}`;
  }

  // -- interaction (never leaves the browser) ----------------------------------------------
  function moveSplit(event) {
    split = Math.min(Math.max(imageXY(event)[2], 0), 1);
    draw();
  }
  listen(canvas, "pointerdown", (event) => {
    canvas.focus();
    if (model.get("view") === "wipe") {
      dragging = true;
      canvas.setPointerCapture(event.pointerId);
      moveSplit(event);
    } else if (model.get("view") === "toggle") {
      showB = !showB;
      draw();
    }
  });
  listen(canvas, "pointermove", (event) => {
    if (dragging) moveSplit(event);
    showHover(event);
  });
  const stopDrag = (event) => {
    if (!dragging) return;
    dragging = false;
    if (canvas.hasPointerCapture(event.pointerId)) canvas.releasePointerCapture(event.pointerId);
  };
  listen(canvas, "pointerup", stopDrag);
  listen(canvas, "pointercancel", stopDrag);
  listen(canvas, "keydown", (event) => {
    const view = model.get("view");
    if (view === "toggle" && (event.key === " " || event.key === "t" || event.key === "T")) {
      showB = !showB;
    } else if (view === "wipe" && (event.key === "ArrowLeft" || event.key === "ArrowRight")) {
      split = Math.min(Math.max(split + (event.key === "ArrowLeft" ? -0.02 : 0.02), 0), 1);
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    draw();
  });

  // -- controls that go to the kernel ------------------------------------------------------
  function syncControls() {
    mix.input.value = model.get("mix");
    mix.value.textContent = Number(model.get("mix")).toFixed(2);
    exposure.input.value = model.get("exposure");
    exposure.value.textContent = `${model.get("exposure") >= 0 ? "+" : ""}${Number(model.get("exposure")).toFixed(2)} EV`;
    threshold.value = model.get("threshold");
  }
  listen(mix.input, "input", () => { mix.value.textContent = Number(mix.input.value).toFixed(2); });
  listen(exposure.input, "input", () => { exposure.value.textContent = `${Number(exposure.input.value).toFixed(2)} EV`; });
  listen(mix.input, "change", () => { model.set("mix", Number(mix.input.value)); model.save_changes(); });
  listen(exposure.input, "change", () => { model.set("exposure", Number(exposure.input.value)); model.save_changes(); });
  listen(threshold, "change", () => {
    const v = Number(threshold.value);
    if (v > 0) { model.set("threshold", v); model.save_changes(); }
  });
  listen(file, "change", async () => {
    const f = file.files && file.files[0];
    if (!f) return;
    error.textContent = "";
    model.send({ type: "upload", name: f.name }, undefined, [await f.arrayBuffer()]);
  });
  const sendPath = () => { if (path.value.trim()) { error.textContent = ""; model.send({ type: "path", path: path.value.trim() }); } };
  listen(load, "click", sendPath);
  listen(path, "keydown", (event) => { if (event.key === "Enter") { event.stopPropagation(); sendPath(); } });

  // -- model -> view -----------------------------------------------------------------------
  async function loadPictures() {
    const mine = ++generation;
    root.dataset.ready = "0";
    const [a, b] = await Promise.all([decodePng(model.get("original_png")), decodePng(model.get("compressed_png"))]);
    if (mine !== generation) return; // a newer frame arrived meanwhile
    imgA = a; imgB = b;
    probe = decodeHalf(model.get("probe"));
    heat = null;
    draw();
    root.dataset.ready = "1";
  }
  let pending = false;
  const onPictures = () => { // the three traits arrive together: decode once
    if (pending) return;
    pending = true;
    setTimeout(() => { pending = false; loadPictures(); }, 0);
  };
  const onThreshold = () => { syncControls(); heat = null; draw(); };
  const onStatus = () => {
    busy.style.visibility = model.get("busy") ? "visible" : "hidden";
    error.textContent = model.get("error");
  };
  const handlers = [
    [["original_png", "compressed_png", "probe"], onPictures], [["view"], draw],
    [["threshold"], onThreshold], [["stats"], renderStats], [["mix", "exposure"], syncControls],
    [["busy", "error"], onStatus], [["split"], () => { split = model.get("split"); draw(); }],
  ];
  for (const [names, fn] of handlers) for (const n of names) model.on(`change:${n}`, fn);
  syncControls();
  renderStats();
  onStatus();
  loadPictures();

  return () => {
    for (const [names, fn] of handlers) for (const n of names) model.off(`change:${n}`, fn);
    for (const undo of cleanups) undo();
  };
}

export default { render };
