// The demo page (index.html): drop a .nlut and a picture or video, or give them in the URL
// (?nlut=FILE.nlut&image=FILE.png[&key=ed25519:BASE64...][&require=1]). Sets
// <html data-lutplug="ready"> or "error: …" and window.lutplugPixels() (docs/web.md).
import { readNlut, parseKey } from './nlut.js';
import { Grader } from './nlut-gl.js';

const $ = (id) => document.getElementById(id);
const html = document.documentElement;
const query = new URLSearchParams(location.search);
const state = { grader: null, network: null, video: null, timings: {}, source: null };
window.lutplug = state;

function status(value, message = '') {
  html.dataset.lutplug = value;
  $('error').textContent = message;
}

function grader() {
  if (!state.grader) state.grader = new Grader($('view'));
  return state.grader;
}

function draw() {
  if (!state.network || !state.source) return;
  if (state.video) grader().setImage(state.video);
  grader().draw(Number($('mix').value), Number($('split').value));
}

function facts() {
  const n = state.network, t = state.timings;
  $('facts').textContent = n ? `${n.source}: ${n.summary()}\ndecode ${t.decode.toFixed(1)} ms · shader build ${t.shader.toFixed(1)} ms`
    + (state.baked ? ` · preview baked to ${state.baked}³` : '')
    + (state.source ? ` · picture ${grader().width}×${grader().height}` : '') : '';
}

async function loadNlut(bytes, name) {
  const keys = query.getAll('key').map(parseKey);
  const t0 = performance.now();
  const network = await readNlut(new Uint8Array(bytes), { source: name, trustedKeys: keys, requireSignature: query.get('require') === '1' });
  state.timings.decode = performance.now() - t0;
  const built = await grader().setNetwork(network, { bake: query.has('bake') ? Number(query.get('bake')) : 0 });
  state.timings.shader = built.ms;
  state.baked = built.bake;
  state.network = network;
  facts();
}

async function loadPicture(blob, name) {
  if (state.video) { state.video.pause(); state.video = null; }
  if (blob.type.startsWith('video/') || /\.(mp4|webm|ogv|mov)$/i.test(name)) {
    const video = document.createElement('video');
    Object.assign(video, { src: URL.createObjectURL(blob), muted: true, loop: true, playsInline: true });
    await video.play();
    state.video = video;
    const frame = () => { if (state.video !== video) return; draw(); video.requestVideoFrameCallback(frame); };
    video.requestVideoFrameCallback(frame);
    state.source = video;
    grader().setImage(video);
  } else {
    const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    grader().setImage(bitmap);
    state.source = bitmap;
  }
  facts();
}

async function fetched(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

async function run(task) {
  status('loading');
  try {
    await task();
    draw();
    status(state.network && state.source ? 'ready' : 'waiting');
  } catch (e) {
    status(`error: ${e.message}`, e.message);
  }
}

/** The graded picture: {width, height, channels: 4, data: Float32Array RGBA, rows top to bottom};
 * the exact grade, or with 'preview' what the canvas shows (the baked preview, if any). */
window.lutplugPixels = (which = 'exact') => {
  const g = grader();
  return { width: g.width, height: g.height, channels: 4, data: g.pixels(1, which !== 'preview') };
};

async function dropped(files) {
  for (const file of files) {
    if (/\.nlut$/i.test(file.name)) await loadNlut(await file.arrayBuffer(), file.name);
    else await loadPicture(file, file.name);
  }
}

$('mix').addEventListener('input', draw);
$('split').addEventListener('input', draw);
$('nlut-file').addEventListener('change', (e) => run(() => dropped(e.target.files)));
$('image-file').addEventListener('change', (e) => run(() => dropped(e.target.files)));
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); run(() => dropped(e.dataTransfer.files)); });

run(async () => {
  if (query.has('split')) $('split').value = query.get('split');
  if (query.has('nlut')) await loadNlut(await (await fetched(query.get('nlut'))).arrayBuffer(), query.get('nlut'));
  if (query.has('image')) await loadPicture(await (await fetched(query.get('image'))).blob(), query.get('image'));
});
