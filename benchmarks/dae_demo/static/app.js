/* The denoising-autoencoder demo: draw, centre and scale the digit as MNIST's are, ask the
   server for each model's reconstruction of its corrupted version, show them.
   window.daeDemo exposes the state (last request and answers) for scripts and tests. */
(function () {
  "use strict";
  var SIZE = 28, PAD = 280, CELL = PAD / SIZE;  // the pad is drawn at 10x MNIST's resolution
  var BOX = 20 * CELL;                          // MNIST: the digit's bounding box fits 20x20
  var CENTRE = 14.0 * CELL + CELL / 2;          // ... and its centre of mass is at pixel 14
  var pad = document.getElementById("pad");
  var padCtx = pad.getContext("2d", { willReadFrequently: true });
  var statusEl = document.getElementById("status");
  var levelEl = document.getElementById("level");
  var seedEl = document.getElementById("seed");
  var state = {
    models: [], noises: [], noise: null, strokes: [], sample: null, seed: 0,
    version: 0, pending: false, busy: false, timer: null, request: 0
  };
  var api = window.daeDemo = {
    version: 0, lastInput: null, lastRequests: [], lastResponses: [], errors: [],
    state: state, normalize: normalize
  };

  // ------------------------------------------------------------------ drawing
  function penWidth() { return document.getElementById("thick").checked ? 34 : 24; }
  function redrawPad() {
    padCtx.fillStyle = "#000";
    padCtx.fillRect(0, 0, PAD, PAD);
    if (state.sample) {
      var small = document.createElement("canvas");
      small.width = small.height = SIZE;
      paint(small, state.sample);
      padCtx.imageSmoothingEnabled = true;
      padCtx.drawImage(small, 0, 0, PAD, PAD);
    }
    state.strokes.forEach(drawStroke);
  }
  function drawStroke(stroke) {
    padCtx.strokeStyle = "#fff";
    padCtx.fillStyle = "#fff";
    padCtx.lineCap = padCtx.lineJoin = "round";
    padCtx.lineWidth = stroke.width;
    if (stroke.points.length === 1) {
      var p = stroke.points[0];
      padCtx.beginPath();
      padCtx.arc(p[0], p[1], stroke.width / 2, 0, 2 * Math.PI);
      padCtx.fill();
      return;
    }
    padCtx.beginPath();
    stroke.points.forEach(function (p, i) {
      if (i === 0) padCtx.moveTo(p[0], p[1]); else padCtx.lineTo(p[0], p[1]);
    });
    padCtx.stroke();
  }
  function padPoint(ev) {
    var r = pad.getBoundingClientRect();
    return [(ev.clientX - r.left) * PAD / r.width, (ev.clientY - r.top) * PAD / r.height];
  }
  var current = null;
  pad.addEventListener("pointerdown", function (ev) {
    ev.preventDefault();
    pad.setPointerCapture(ev.pointerId);
    current = { width: penWidth(), points: [padPoint(ev)], id: ev.pointerId };
    state.strokes.push(current);
    drawStroke(current);
    schedule(60);
  });
  pad.addEventListener("pointermove", function (ev) {
    if (!current || ev.pointerId !== current.id) return;
    var events = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [ev];
    (events.length ? events : [ev]).forEach(function (e) { current.points.push(padPoint(e)); });
    redrawPad();
    schedule(60);
  });
  function endStroke(ev) {
    if (!current || ev.pointerId !== current.id) return;
    current = null;
    schedule(0);
  }
  pad.addEventListener("pointerup", endStroke);
  pad.addEventListener("pointercancel", endStroke);
  document.getElementById("clear").addEventListener("click", function () {
    state.strokes = [];
    state.sample = null;
    redrawPad();
    schedule(0);
  });
  document.getElementById("undo").addEventListener("click", function () {
    state.strokes.pop();
    redrawPad();
    schedule(0);
  });

  // ------------------------------------------------------------------ MNIST's normalisation
  // The ink's bounding box is scaled to fit 20x20 pixels (aspect kept, anti-aliased), placed so
  // that its centre of mass falls on pixel (14, 14), and averaged down to 28x28.
  function normalize() {
    if (state.sample && !state.strokes.length) return Float32Array.from(state.sample);
    var img = padCtx.getImageData(0, 0, PAD, PAD).data;
    var x0 = PAD, y0 = PAD, x1 = -1, y1 = -1, mass = 0, mx = 0, my = 0;
    for (var y = 0; y < PAD; y++) {
      for (var x = 0; x < PAD; x++) {
        var v = img[4 * (y * PAD + x)];
        if (!v) continue;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
        mass += v; mx += v * (x + 0.5); my += v * (y + 0.5);
      }
    }
    if (!mass) return null;
    var w = x1 - x0 + 1, h = y1 - y0 + 1, s = BOX / Math.max(w, h);
    var big = document.createElement("canvas");
    big.width = big.height = PAD;
    var ctx = big.getContext("2d", { willReadFrequently: true });
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, PAD, PAD);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(pad, x0, y0, w, h, CENTRE - (mx / mass - x0) * s,
                  CENTRE - (my / mass - y0) * s, w * s, h * s);
    var px = ctx.getImageData(0, 0, PAD, PAD).data, out = new Float32Array(SIZE * SIZE);
    for (var i = 0; i < SIZE; i++) {
      for (var j = 0; j < SIZE; j++) {
        var sum = 0;
        for (var dy = 0; dy < CELL; dy++) {
          var row = (i * CELL + dy) * PAD + j * CELL;
          for (var dx = 0; dx < CELL; dx++) sum += px[4 * (row + dx)];
        }
        out[i * SIZE + j] = Math.min(1, sum / (CELL * CELL * 255));
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ images
  function paint(canvas, values) {
    var ctx = canvas.getContext("2d");
    var img = ctx.createImageData(SIZE, SIZE);
    for (var i = 0; i < SIZE * SIZE; i++) {
      var g = Math.round(Math.min(1, Math.max(0, values[i])) * 255);
      img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = g;
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }
  function blank(canvas) {
    var ctx = canvas.getContext("2d");
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, SIZE, SIZE);
  }

  // ------------------------------------------------------------------ requests
  function schedule(delay) {
    clearTimeout(state.timer);
    state.timer = setTimeout(run, delay);
  }
  function setStatus(text, isError) {
    statusEl.textContent = text;
    statusEl.classList.toggle("error", !!isError);
  }
  function post(body) {
    return fetch("/api/reconstruct", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error(data.error || ("HTTP " + r.status));
        return data;
      });
    });
  }
  function run() {
    if (state.busy) { state.pending = true; return; }  // the newest input goes next
    var input = normalize();
    paint(document.getElementById("img-input"), input || new Float32Array(SIZE * SIZE));
    if (!input) {
      blank(document.getElementById("img-noisy"));
      state.models.forEach(function (m) { blank(m.canvas); });
      setStatus("draw a digit");
      finish();
      return;
    }
    var pixels = Array.from(input), t0 = performance.now();
    var bodies = state.models.map(function (m) {
      return { pixels: pixels, noise: state.noise.name, level: Number(levelEl.value),
               seed: state.seed, model: m.name };
    });
    var id = ++state.request;
    state.busy = true;
    setStatus("computing …");
    Promise.all(bodies.map(post)).then(function (answers) {
      if (id !== state.request) return;
      paint(document.getElementById("img-noisy"), answers[0].noisy);
      answers.forEach(function (a, k) { paint(state.models[k].canvas, a.reconstruction); });
      api.lastInput = pixels;
      api.lastRequests = bodies;
      api.lastResponses = answers;
      setStatus(answers.length + " reconstructions in " +
                Math.round(performance.now() - t0) + " ms");
    }).catch(function (err) {
      api.errors.push(String(err.message || err));
      setStatus("error: " + (err.message || err), true);
    }).then(function () {
      state.busy = false;
      finish();
      if (state.pending) { state.pending = false; run(); }
    });
  }
  function finish() {
    api.version = ++state.version;
    document.body.setAttribute("data-version", String(state.version));
  }

  // ------------------------------------------------------------------ controls
  function fmt(v) { return Number(v).toFixed(2); }
  function describeLevel() {
    var n = state.noise, v = Number(levelEl.value);
    var text = n.parameter === "variance" ? fmt(v) + " (σ " + fmt(Math.sqrt(v)) + ")"
      : Math.round(v * 100) + " %";
    document.getElementById("level-value").textContent = text;
    document.getElementById("noisy-caption").textContent = n.title + ", " +
      (n.parameter === "variance" ? "variance " : "") + text;
  }
  function selectNoise(name, level) {
    state.noise = state.noises.find(function (n) { return n.name === name; });
    Array.from(document.querySelectorAll("#noises button")).forEach(function (b) {
      b.setAttribute("aria-checked", String(b.dataset.noise === name));
    });
    levelEl.min = state.noise.min;
    levelEl.max = state.noise.max;
    levelEl.value = level === undefined ? state.noise.train_level : level;
    document.getElementById("level-name").textContent = state.noise.parameter;
    document.getElementById("noise-description").textContent = state.noise.description +
      ". Its model was trained at " + state.noise.train_level + ".";
    state.models.forEach(function (m) {
      m.figure.classList.toggle("own", m.noise === name);
      m.link.href = "/graph?noise=" + encodeURIComponent(name) + "&model=" +
        encodeURIComponent(m.name);
    });
    describeLevel();
    schedule(0);
  }
  levelEl.addEventListener("input", function () { describeLevel(); schedule(40); });
  seedEl.addEventListener("change", function () {
    var v = Math.floor(Number(seedEl.value));
    state.seed = isFinite(v) && v >= 0 ? v : 0;
    seedEl.value = state.seed;
    schedule(0);
  });
  document.getElementById("reseed").addEventListener("click", function () {
    state.seed = Math.floor(Math.random() * 2147483647);
    seedEl.value = state.seed;
    schedule(0);
  });
  document.getElementById("trained").addEventListener("click", function () {
    levelEl.value = state.noise.train_level;
    describeLevel();
    schedule(0);
  });

  function title(name) {
    var n = state.noises.find(function (k) { return k.name === name; });
    return n ? n.title : name;
  }
  function buildModels(info) {
    state.noises = info.noises;
    var hidden = Array.from(new Set(info.models.map(function (m) {
      return m.settings.hidden; })));
    document.getElementById("arch").textContent = "784–" + hidden.join("/") +
      " sigmoid units";
    var group = document.getElementById("noises");
    info.noises.forEach(function (n) {
      var b = document.createElement("button");
      b.type = "button";
      b.setAttribute("role", "radio");
      b.dataset.noise = n.name;
      b.textContent = n.title;
      b.addEventListener("click", function () { selectNoise(n.name); });
      group.appendChild(b);
    });
    var recs = document.getElementById("recs"), body = document.querySelector("#models tbody");
    info.models.forEach(function (m) {
      var fig = document.createElement("figure"), canvas = document.createElement("canvas");
      canvas.width = canvas.height = SIZE;
      canvas.id = "rec-" + m.name;
      var cap = document.createElement("figcaption");
      cap.appendChild(document.createTextNode(title(m.noise) + " model"));
      cap.appendChild(document.createElement("br"));
      var sub = document.createElement("span");
      sub.className = "muted";
      sub.textContent = "trained at " + m.level + " · ";
      var link = document.createElement("a");
      link.textContent = "graph";
      link.target = "_blank";
      link.rel = "noopener";
      sub.appendChild(link);
      cap.appendChild(sub);
      fig.appendChild(canvas);
      fig.appendChild(cap);
      recs.appendChild(fig);
      state.models.push({ name: m.name, noise: m.noise, canvas: canvas, figure: fig,
                          link: link });
      blank(canvas);
      var test = m.test || {}, s = m.settings;
      var tr = document.createElement("tr");
      [title(m.noise) + " model", title(m.noise).toLowerCase() + " " + m.level,
       s.epochs + " × " + s.n_train, m.train_seconds != null ?
         Math.round(m.train_seconds) + " s" : "–",
       test.reconstruction_mse != null ? test.reconstruction_mse.toFixed(4) : "–",
       test.corrupted_mse != null ? test.corrupted_mse.toFixed(4) : "–"].forEach(
        function (text, i) {
          var td = document.createElement("td");
          td.textContent = text;
          if (i >= 3) td.className = "num";
          tr.appendChild(td);
        });
      var td = document.createElement("td"), a = document.createElement("a");
      a.href = "/graph?noise=" + encodeURIComponent(m.noise) + "&model=" +
        encodeURIComponent(m.name);
      a.target = "_blank";
      a.rel = "noopener";
      a.textContent = "reconstruct_" + m.noise;
      td.appendChild(a);
      tr.appendChild(td);
      body.appendChild(tr);
    });
  }
  function buildSamples(info) {
    var box = document.getElementById("samples");
    info.samples.forEach(function (s) {
      var b = document.createElement("button"), c = document.createElement("canvas");
      b.type = "button";
      b.title = "test digit " + s.label;
      b.setAttribute("aria-label", "start from a test digit " + s.label);
      c.width = c.height = SIZE;
      paint(c, s.pixels);
      b.appendChild(c);
      b.addEventListener("click", function () {
        state.sample = Float32Array.from(s.pixels);
        state.strokes = [];
        redrawPad();
        schedule(0);
      });
      box.appendChild(b);
    });
    return info.samples;
  }

  redrawPad();
  Promise.all([fetch("/api/models").then(function (r) { return r.json(); }),
               fetch("/api/samples").then(function (r) { return r.json(); })])
    .then(function (res) {
      buildModels(res[0]);
      var samples = buildSamples(res[1]);
      var start = samples.find(function (s) { return s.label === 2; }) || samples[0];
      if (start) state.sample = Float32Array.from(start.pixels);
      redrawPad();
      selectNoise(res[0].noises[0].name);
    })
    .catch(function (err) { setStatus("cannot reach the server: " + err, true); });
})();
