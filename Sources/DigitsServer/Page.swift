// The drawing page: one document with its style and script, nothing loaded from elsewhere.
// Drawing uses pointer events (mouse, pen or finger) on a canvas wide enough for a number.
// While a stroke is drawn the picture is sent at most every 120 ms, and once more when it ends;
// each answer shows the digit (or "not a digit" when the model refuses the drawing) with bars
// for 0–9, or the number with each digit's confidence, and the 28×28 pictures the model read.
// `/?demo=7` (or `/?demo=2017`) draws by itself with synthesized pointer events (the
// headless-browser test uses it) and sets the title to the answer.
enum Page {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>digits</title>
<style>
  :root { --ink: #1d2330; --muted: #6b7385; --accent: #2f6fed; --bg: #f4f6fa; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--bg); }
  main { max-width: 860px; margin: 0 auto; padding: 16px; display: grid; gap: 16px; grid-template-columns: minmax(0, 1fr); }
  h1 { grid-column: 1 / -1; margin: 0; font-size: 22px; }
  h1 small { color: var(--muted); font-weight: normal; font-size: 14px; }
  .panel { background: white; border-radius: 12px; padding: 14px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
  #pad { width: 100%; aspect-ratio: 7 / 3; touch-action: none; background: black; border-radius: 8px; display: block; cursor: crosshair; }
  .row { display: flex; gap: 8px; align-items: center; margin-top: 10px; flex-wrap: wrap; }
  button, select { font: inherit; padding: 8px 14px; border-radius: 8px; border: 1px solid #cfd5e1; background: white; }
  button.primary { background: var(--accent); color: white; border-color: var(--accent); }
  #digit { font-size: 96px; font-weight: 700; line-height: 1; text-align: center; min-height: 96px; }
  #digit.rejected { font-size: 40px; line-height: 96px; color: var(--muted); }
  #confidence { text-align: center; color: var(--muted); min-height: 22px; }
  .bars { display: grid; grid-template-columns: 16px 1fr 52px; gap: 4px 8px; align-items: center; margin-top: 10px; font-variant-numeric: tabular-nums; }
  .bar { height: 14px; background: #e7ebf3; border-radius: 7px; overflow: hidden; }
  .bar span { display: block; height: 100%; width: 0; background: var(--accent); }
  .bar.best span { background: #15a34a; }
  .seen { display: flex; gap: 12px; align-items: center; margin-top: 12px; color: var(--muted); font-size: 14px; }
  #seen { height: 84px; image-rendering: pixelated; background: black; border-radius: 4px; }
  #each { text-align: center; color: var(--muted); font-variant-numeric: tabular-nums; min-height: 22px; }
  #each b { color: var(--ink); }
  #each .no { color: #c02626; }
  #error { color: #c02626; min-height: 22px; }
  @media (max-width: 640px) { #digit { font-size: 72px; min-height: 72px; } }
</style>
</head>
<body>
<main>
  <h1>digits <small>draw a digit or a number; the model reads it as you draw</small></h1>
  <section class="panel">
    <canvas id="pad" width="560" height="240" aria-label="drawing area"></canvas>
    <div class="row">
      <button id="clear">Clear</button>
      <label>Model <select id="model"></select></label>
    </div>
    <div id="error" role="alert"></div>
  </section>
  <section class="panel" aria-live="polite">
    <div id="digit">?</div>
    <div id="confidence">draw on the black area</div>
    <div id="each"></div>
    <div class="bars" id="bars"></div>
    <div class="seen"><img id="seen" alt="the 28×28 pictures the model read"><span>what the model saw: each digit centred and scaled to 28×28, as in MNIST</span></div>
  </section>
</main>
<script>
"use strict";
const pad = document.getElementById("pad"), context = pad.getContext("2d");
const bars = document.getElementById("bars"), modelSelect = document.getElementById("model");
let drawing = false, last = null, dirty = false, inFlight = false, lastSent = 0, strokes = 0;

for (let d = 0; d < 10; d++) {
  bars.insertAdjacentHTML("beforeend", `<span>${d}</span><div class="bar" id="bar${d}"><span></span></div><span id="p${d}">–</span>`);
}
function clear() {
  context.fillStyle = "black"; context.fillRect(0, 0, pad.width, pad.height);
  strokes = 0;
  document.getElementById("digit").textContent = "?";
  document.getElementById("confidence").textContent = "draw on the black area";
  document.getElementById("each").textContent = "";
  bars.style.display = "";
  document.getElementById("seen").removeAttribute("src");
  document.getElementById("error").textContent = "";
  for (let d = 0; d < 10; d++) { show(d, 0, false); document.getElementById("p" + d).textContent = "–"; }
}
function show(d, p, best) {
  const bar = document.getElementById("bar" + d);
  bar.firstChild.style.width = (100 * p).toFixed(1) + "%";
  bar.classList.toggle("best", best);
}
function point(event) {
  const box = pad.getBoundingClientRect();
  return { x: (event.clientX - box.left) * pad.width / box.width, y: (event.clientY - box.top) * pad.height / box.height };
}
pad.addEventListener("pointerdown", event => {
  drawing = true; last = point(event); strokes++;
  pad.setPointerCapture?.(event.pointerId);
  stroke(last, last);
});
pad.addEventListener("pointermove", event => {
  if (!drawing) return;
  const next = point(event); stroke(last, next); last = next;
});
for (const name of ["pointerup", "pointercancel", "pointerleave"]) {
  pad.addEventListener(name, () => { if (drawing) { drawing = false; dirty = true; send(true); } });
}
function stroke(a, b) {
  context.strokeStyle = "white"; context.lineWidth = 18; context.lineCap = "round"; context.lineJoin = "round";
  context.beginPath(); context.moveTo(a.x, a.y); context.lineTo(b.x, b.y); context.stroke();
  dirty = true; send(false);
}
function send(force) {
  const now = performance.now();
  if (!dirty || strokes === 0 || inFlight || (!force && now - lastSent < 120)) return;
  dirty = false; inFlight = true; lastSent = now;
  pad.toBlob(async blob => {
    try {
      const response = await fetch("/api/classify?model=" + encodeURIComponent(modelSelect.value),
                                   { method: "POST", headers: { "Content-Type": "image/png" }, body: blob });
      const answer = await response.json();
      if (!response.ok) throw new Error(answer.error || response.statusText);
      render(answer);
    } catch (error) {
      document.getElementById("error").textContent = "could not classify: " + error.message;
    } finally {
      inFlight = false;
      if (dirty && !drawing) send(true);
    }
  }, "image/png");
}
function render(answer) {
  document.getElementById("error").textContent = "";
  const digit = document.getElementById("digit"), each = document.getElementById("each");
  document.getElementById("seen").src = "data:image/png;base64," + answer.preprocessed;
  if (answer.digits.length > 1) {
    // A number: the digits read ("?" where a position is not a digit), each with its confidence.
    digit.textContent = answer.number;
    digit.classList.remove("rejected");
    document.getElementById("confidence").textContent = `${answer.digits.length} digits (${answer.model})`;
    each.innerHTML = answer.digits.map(d => d.rejected
      ? `<span class="no">? not a digit (closest ${d.best_guess})</span>`
      : `<b>${d.digit}</b> ${(100 * d.confidence).toFixed(0)}%`).join(" · ");
    bars.style.display = "none";
    document.title = "digits: " + answer.number;
    return;
  }
  each.textContent = "";
  bars.style.display = "";
  // A refused picture shows the verdict, with the closest digit in small print.
  digit.textContent = answer.rejected ? "not a digit" : answer.digit;
  digit.classList.toggle("rejected", answer.rejected);
  document.getElementById("confidence").textContent = answer.rejected
    ? `closest: ${answer.best_guess}, ${(100 * answer.confidence).toFixed(0)}% (${answer.model})`
    : `${(100 * answer.confidence).toFixed(1)}% sure (${answer.model})`;
  answer.probabilities.forEach((p, d) => {
    show(d, p, !answer.rejected && d === answer.digit);
    document.getElementById("p" + d).textContent = (100 * p).toFixed(1) + "%";
  });
  document.title = "digits: " + (answer.rejected ? "not a digit" : answer.digit);
}
document.getElementById("clear").addEventListener("click", clear);
modelSelect.addEventListener("change", () => { dirty = true; send(true); });

// Digits drawn by synthesized pointer events, for tests and demonstrations: /?demo=7 draws a 7
// in the middle, /?demo=2017 four digits side by side. Strokes are in a 280×280 box.
const strokesOf = {
  "0": [[[140, 50], [90, 80], [80, 150], [100, 215], [140, 235], [185, 210], [200, 145], [190, 80], [140, 50]]],
  "1": [[[120, 80], [150, 50], [150, 240]]],
  "2": [[[80, 90], [120, 55], [180, 60], [195, 110], [90, 235], [205, 235]]],
  "7": [[[70, 60], [210, 60], [150, 150], [120, 240]]],
};
async function demo(text) {
  const digits = [...text].filter(d => strokesOf[d]); if (!digits.length) return;
  // Each digit in a slot of its own, shrunk to fit the line, the line centred.
  const slot = Math.min(280, pad.width / digits.length), scale = slot / 280 * 0.85;
  const left = (pad.width - slot * digits.length) / 2, top = (pad.height - 280 * scale) / 2;
  const path = digits.flatMap((d, i) => strokesOf[d].map(line => line.map(([x, y]) => [left + i * slot + x * scale, top + y * scale])));
  const box = pad.getBoundingClientRect();
  const at = (x, y) => ({ clientX: box.left + x * box.width / pad.width, clientY: box.top + y * box.height / pad.height,
                          pointerId: 1, pointerType: "mouse", bubbles: true, isPrimary: true, buttons: 1 });
  for (const line of path) {
    pad.dispatchEvent(new PointerEvent("pointerdown", at(...line[0])));
    for (let i = 1; i < line.length; i++) {
      const [x0, y0] = line[i - 1], [x1, y1] = line[i];
      for (let t = 1; t <= 8; t++) {
        pad.dispatchEvent(new PointerEvent("pointermove", at(x0 + (x1 - x0) * t / 8, y0 + (y1 - y0) * t / 8)));
        await new Promise(resolve => setTimeout(resolve, 5));
      }
    }
    pad.dispatchEvent(new PointerEvent("pointerup", at(...line[line.length - 1])));
  }
}

(async () => {
  clear();
  try {
    const { models } = await (await fetch("/api/models")).json();
    for (const model of models) {
      const accuracy = model.test_accuracy ? ` (${(100 * model.test_accuracy).toFixed(2)}% on MNIST)` : "";
      modelSelect.insertAdjacentHTML("beforeend", `<option value="${model.name}"${model.default ? " selected" : ""}>${model.name}${accuracy}</option>`);
    }
  } catch (error) {
    document.getElementById("error").textContent = "the server did not answer: " + error.message;
  }
  const wanted = new URLSearchParams(location.search);
  if (wanted.get("model")) modelSelect.value = wanted.get("model");
  if (wanted.get("demo")) demo(wanted.get("demo"));
})();
</script>
</body>
</html>
"""#
}
