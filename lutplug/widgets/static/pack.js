// lutplug PackBrowser grid (anywidget ES module, no dependencies): one card per item with its
// thumbnail, size, ratio and ΔE00; a click sets `selected` and the kernel opens the comparison.

function bytesOf(value) {
  if (!value) return new Uint8Array(0);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return new Uint8Array(0);
}

function bytesText(n) {
  if (n === null || n === undefined) return "?";
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : n >= 10240 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

function line(parent, className, text) {
  const div = document.createElement("div");
  div.className = className;
  div.textContent = text;
  parent.appendChild(div);
  return div;
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "lutplug-pack";
  const grid = document.createElement("div");
  grid.className = "lp-grid";
  const status = document.createElement("div");
  status.className = "lp-pack-status";
  root.append(grid, status);
  el.appendChild(root);
  let urls = [];

  function draw() {
    for (const u of urls) URL.revokeObjectURL(u);
    urls = [];
    grid.replaceChildren();
    const selected = model.get("selected");
    model.get("items").forEach((item, index) => {
      const card = document.createElement("button");
      card.type = "button";
      card.className = "lp-card" + (index === selected ? " lp-selected" : "") + (item.comparable ? "" : " lp-disabled");
      // tooltip: where the ΔE00 comes from (or what went wrong), then the .nlut's info text
      card.title = [item.quality || item.error, item.info].filter(Boolean).join("\n\n");
      const data = bytesOf(item.thumbnail);
      if (data.length) {
        const img = document.createElement("img");
        const url = URL.createObjectURL(new Blob([data], { type: "image/png" }));
        urls.push(url);
        img.src = url;
        img.alt = item.name;
        card.appendChild(img);
      }
      line(card, "lp-card-name", item.file);
      const ratio = item.ratio ? ` · ${item.ratio >= 10 ? item.ratio.toFixed(0) : item.ratio.toFixed(1)}:1` : "";
      line(card, "lp-card-line", `${bytesText(item.nbytes)}${ratio}`);
      if (item.de_mean !== null && item.de_mean !== undefined) {
        line(card, "lp-card-line", `ΔE00 mean ${item.de_mean.toFixed(3)} · max ${item.de_max.toFixed(2)}`);
      }
      if (item.error) line(card, "lp-card-note", item.error);
      else if (!item.comparable) line(card, "lp-card-note", "no .nlut");
      card.addEventListener("click", () => {
        model.set("selected", index);
        model.save_changes();
      });
      grid.appendChild(card);
    });
  }
  const showStatus = () => { status.textContent = model.get("status"); };
  model.on("change:items", draw);
  model.on("change:selected", draw);
  model.on("change:status", showStatus);
  draw();
  showStatus();
  return () => {
    model.off("change:items", draw);
    model.off("change:selected", draw);
    model.off("change:status", showStatus);
    for (const u of urls) URL.revokeObjectURL(u);
  };
}

export default { render };
