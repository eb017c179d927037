extension Page {
    /// The page's script: it renders the runs list or a run's page from the API's JSON, and
    /// each control calls one endpoint.
    static let script = #"""
        "use strict";
        const $ = (id) => document.getElementById(id);
        const main = $("main");
        const api = (name, action) => "/api/runs/" + encodeURIComponent(name) + (action ? "/" + action : "");
        const element = (tag, attributes = {}, children = []) => {
          const node = document.createElement(tag);
          for (const [key, value] of Object.entries(attributes)) {
            if (key === "text") node.textContent = value; else node.setAttribute(key, value);
          }
          for (const child of children) node.append(child);
          return node;
        };
        const clock = (s) => { s = Math.round(s); const m = Math.floor(s / 60); return m >= 60 ? Math.floor(m / 60) + "h" + String(m % 60).padStart(2, "0") : m + ":" + String(s % 60).padStart(2, "0"); };
        const figures = (values) => Object.keys(values || {}).sort().map((k) => k + " " + Number(values[k]).toPrecision(4)).join(", ");

        async function fail(response) {
          let message = response.status + " " + response.statusText;
          try { const body = await response.json(); if (body.error) message = body.error.message; } catch (e) {}
          throw new Error(message);
        }
        async function getJSON(url) { const r = await fetch(url); if (!r.ok) await fail(r); return r.json(); }
        // Loads a PNG answer into an <img>, and says what went wrong under it otherwise.
        async function showImage(img, url, options) {
          const status = img.nextElementSibling && img.nextElementSibling.classList.contains("status") ? img.nextElementSibling : null;
          try {
            const r = await fetch(url, options);
            if (!r.ok) await fail(r);
            const old = img.src;
            img.src = URL.createObjectURL(await r.blob());
            if (old.startsWith("blob:")) URL.revokeObjectURL(old);
            img.dataset.loads = String(Number(img.dataset.loads || 0) + 1);
            if (status) { status.textContent = ""; status.classList.remove("error"); }
          } catch (error) {
            if (status) { status.textContent = error.message; status.classList.add("error"); }
          }
        }
        const postJSON = (body) => ({ method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
        const scaled = (id, scale) => { const img = element("img", { id, class: "pixels", alt: "" }); img.style.zoom = scale; return img; };
        const statusLine = () => element("div", { class: "status note" });
        const panel = (title, id) => { const p = element("section", { class: "panel", id }); p.append(element("h2", { text: title })); main.append(p); return p; };
        const numberInput = (id, value, min, max) => element("input", { id, type: "number", value, min, max });
        const select = (id, options, value) => {
          const s = element("select", { id });
          for (const o of options) s.append(element("option", { value: o, text: o }));
          if (value !== undefined) s.value = value;
          return s;
        };
        const randomSeed = () => Math.floor(Math.random() * 1e6);

        // Loss curves: one polyline per logged figure, against the step, in SVG.
        function drawCurves(svg, records, width, height) {
          svg.replaceChildren();
          const keys = [...new Set(records.flatMap((r) => Object.keys(r)))].filter((k) => !["step", "epoch", "seconds"].includes(k) && !k.startsWith("lr"));
          if (records.length < 2 || keys.length === 0) return;
          const steps = records.map((r) => r.step);
          const x0 = Math.min(...steps), x1 = Math.max(...steps) || 1;
          const colours = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#455a64"];
          keys.slice(0, 8).forEach((key, index) => {
            const points = records.filter((r) => Number.isFinite(r[key]));
            if (points.length < 2) return;
            const values = points.map((r) => r[key]);
            const lo = Math.min(...values), hi = Math.max(...values), span = hi - lo || 1;
            const line = points.map((r) => ((r.step - x0) / (x1 - x0 || 1) * (width - 10) + 5).toFixed(1) + "," + (height - 5 - (r[key] - lo) / span * (height - 10)).toFixed(1)).join(" ");
            const polyline = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
            polyline.setAttribute("points", line);
            polyline.setAttribute("fill", "none");
            polyline.setAttribute("stroke", colours[index]);
            polyline.setAttribute("stroke-width", "1.5");
            const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
            title.textContent = key + ": " + lo.toPrecision(4) + " to " + hi.toPrecision(4);
            polyline.append(title);
            svg.append(polyline);
          });
        }
        const curveSVG = (width, height) => { const s = document.createElementNS("http://www.w3.org/2000/svg", "svg"); s.setAttribute("width", width); s.setAttribute("height", height); s.setAttribute("class", "curve"); return s; };

        // The runs list, polled: a run that is training shows its steps and curve moving.
        async function runsPage() {
          $("where").textContent = "runs";
          const table = element("table", { id: "runs" });
          table.append(element("tr", {}, ["run", "model", "data", "steps", "time", "last losses", "metrics", "loss"].map((h) => element("th", { text: h }))));
          main.replaceChildren(table, element("p", { class: "note", text: "Each run's page offers what its model can do. The list refreshes every 5 s." }));
          const rows = new Map();
          async function refresh() {
            const runs = await getJSON("/api/runs");
            if (runs.length === 0) main.replaceChildren(element("p", { text: "No runs here yet: train one with deepgen train MODEL --out runs/NAME." }));
            for (const run of runs) {
              let row = rows.get(run.name);
              if (!row) {
                row = element("tr", { "data-run": run.name });
                const link = element("a", { href: "/runs/" + encodeURIComponent(run.name), class: "run-link", text: run.name });
                row.cells_ = [element("td", {}, [link])].concat([0, 1, 2, 3, 4, 5].map(() => element("td")));
                row.svg = curveSVG(160, 36);
                row.append(...row.cells_, element("td", {}, [row.svg]));
                table.append(row);
                rows.set(run.name, row);
              }
              const live = run.idle !== undefined && run.idle < 30;
              const values = [run.model, run.dataset, String(run.steps), clock(run.seconds), figures(run.losses), figures(run.metrics)];
              values.forEach((v, i) => row.cells_[i + 1].textContent = v);
              if (live) row.cells_[3].append(" ", element("span", { class: "live", text: "training" }));
              if (live || !row.drawn) { row.drawn = true; getJSON(api(run.name, "log")).then((log) => drawCurves(row.svg, log, 160, 36)).catch(() => {}); }
            }
          }
          await refresh();
          setInterval(() => refresh().catch(() => {}), 5000);
        }

        async function runPage(name) {
          $("where").textContent = "› " + name;
          const run = await getJSON(api(name));
          const caps = run.capabilities, can = (a) => caps.actions.includes(a);
          main.replaceChildren();
          const head = panel(name + ": " + run.config.model + " on " + run.config.dataset, "summary");
          const summary = run.summary || {};
          head.append(element("div", { id: "facts", text: (summary.steps || 0) + " steps, " + clock(summary.seconds || 0) + (Object.keys(summary.metrics || {}).length ? "; " + figures(summary.metrics) : "") }));
          const curves = curveSVG(640, 160);
          head.append(curves, element("div", { id: "curve-keys", class: "note" }));
          let log = await getJSON(api(name, "log"));
          const redraw = () => {
            drawCurves(curves, log, 640, 160);
            const last = log[log.length - 1] || {};
            $("curve-keys").textContent = log.length ? "step " + last.step + ": " + figures(Object.fromEntries(Object.entries(last).filter(([k]) => !["step", "epoch", "seconds"].includes(k)))) : "no log yet";
          };
          redraw();
          setInterval(async () => {
            const after = log.length ? log[log.length - 1].step : -1;
            try { const more = await getJSON(api(name, "log") + "?after=" + after); if (more.length) { log = log.concat(more); redraw(); } } catch (e) {}
          }, 3000);
          if (!can("sample")) { head.append(element("p", { text: "This model draws no samples." })); return; }
          samplePanel(name, caps);
          if (can("latent")) latentPanels(name, caps);
          if (can("mix")) mixPanel(name, caps);
          if (can("project")) projectPanel(name, caps);
          if (can("translate")) translatePanel(name, caps);
          if (can("draw")) drawPanel(name, caps);
          if (can("clusters")) clusterPanel(name, caps);
        }

        function samplePanel(name, caps) {
          const p = panel("Samples", "sample-panel");
          const seed = numberInput("seed", 0, 0);
          const count = select("count", caps.actions.includes("draw") ? ["4", "9", "16", "25"] : ["16", "36", "64", "100"], caps.actions.includes("draw") ? "9" : "64");
          const sample = element("button", { id: "sample-button", text: "sample" });
          const fresh = element("button", { id: "new-seed", text: "new seed" });
          const controls = element("div", { class: "row" }, ["seed ", seed, "count ", count, sample, fresh]);
          p.append(controls);
          let psi = null, label = null;
          if (caps.actions.includes("truncation")) {
            psi = element("input", { id: "truncation", type: "range", min: "0", max: "1", step: "0.05", value: String(caps.truncation ?? 1) });
            const shown = element("span", { id: "truncation-value", text: psi.value });
            psi.addEventListener("input", () => shown.textContent = psi.value);
            psi.addEventListener("change", () => go());
            p.append(element("div", { class: "row" }, ["truncation ψ ", psi, shown]));
          }
          if (caps.classes) {
            label = select("label", ["every class"].concat([...Array(caps.classes).keys()].map(String)));
            controls.append("class ", label);
          }
          const img = scaled("sample-image", 2);
          p.append(img, statusLine());
          if (caps.actions.includes("draw")) p.append(element("p", { class: "note", text: "An autoregressive model draws a pixel at a time: larger grids take a while." }));
          const go = () => {
            const q = new URLSearchParams({ seed: seed.value, count: count.value });
            if (psi) q.set("psi", psi.value);
            if (label && label.value !== "every class") q.set("label", label.value);
            showImage(img, api(name, "sample") + "?" + q);
          };
          sample.onclick = go;
          fresh.onclick = () => { seed.value = randomSeed(); go(); };
          go();
        }

        function latentPanels(name, caps) {
          const latent = caps.latent, m = latent.dimension, shown = Math.min(m, 8);
          const p = panel("Latent code", "latent-panel");
          const seed = numberInput("code-seed", 0, 0);
          const load = element("button", { id: "code-button", text: "code of seed" });
          p.append(element("div", { class: "row" }, ["seed ", seed, load]), element("p", { class: "note", text: "The first " + shown + " of " + m + " dimensions, each over 3 prior deviations either side." }));
          const sliders = element("div", { class: "sliders" });
          p.append(sliders);
          const img = scaled("decoded-image", 6);
          p.append(img, statusLine());
          let code = latent.centre.slice();
          let pending = null;
          const decode = () => { clearTimeout(pending); pending = setTimeout(() => showImage(img, api(name, "decode"), postJSON({ codes: [code] })), 60); };
          const inputs = [];
          for (let d = 0; d < shown; d++) {
            const lo = latent.centre[d] - 3 * latent.deviation[d], hi = latent.centre[d] + 3 * latent.deviation[d];
            const slider = element("input", { id: "z" + d, type: "range", min: String(lo), max: String(hi), step: String((hi - lo) / 200 || 0.01), value: String(code[d]) });
            const value = element("span", { text: code[d].toFixed(2) });
            slider.addEventListener("input", () => { code[d] = Number(slider.value); value.textContent = code[d].toFixed(2); decode(); });
            inputs.push([slider, value]);
            sliders.append(element("span", { text: "z" + d }), slider, value);
          }
          const fromSeed = async () => {
            code = (await getJSON(api(name, "code") + "?seed=" + seed.value)).code;
            inputs.forEach(([s, v], d) => { s.value = String(code[d]); v.textContent = code[d].toFixed(2); });
            decode();
            plane();
          };
          load.onclick = fromSeed;

          const q = panel("A plane through the code", "manifold-panel");
          const di = select("dim-x", [...Array(m).keys()].map(String), "0"), dj = select("dim-y", [...Array(m).keys()].map(String), m > 1 ? "1" : "0");
          const size = select("manifold-size", ["8", "12", "16", "20"], m === 2 ? "20" : "12");
          const draw = element("button", { id: "manifold-button", text: "draw plane" });
          q.append(element("div", { class: "row" }, ["across z", di, "down z", dj, "size", size, draw]));
          const planeImg = scaled("manifold-image", 1.5);
          q.append(planeImg, statusLine());
          const plane = () => { if (m >= 2) showImage(planeImg, api(name, "manifold"), postJSON({ code, dimensions: [Number(di.value), Number(dj.value)], size: Number(size.value) })); };
          draw.onclick = plane;
          if (m < 2) q.append(element("p", { class: "note", text: "A one-dimensional code has no plane." }));

          const r = panel("Interpolation between two samples", "interpolation-panel");
          const from = numberInput("from-seed", 1, 0), to = numberInput("to-seed", 2, 0), steps = select("steps", ["6", "10", "16"], "10");
          const go = element("button", { id: "interpolate-button", text: "interpolate" });
          r.append(element("div", { class: "row" }, ["from seed", from, "to seed", to, "steps", steps, go]));
          const lineImg = scaled("interpolation-image", 2.5);
          r.append(lineImg, statusLine());
          go.onclick = () => showImage(lineImg, api(name, "interpolate"), postJSON({ from: Number(from.value), to: Number(to.value), steps: Number(steps.value) }));
          fromSeed();
          go.onclick();
        }

        function mixPanel(name, caps) {
          const p = panel("Style mixing", "mix-panel");
          const content = numberInput("content-seed", 1, 0), style = numberInput("style-seed", 2, 0);
          const layers = select("mix-layers", caps.styleLayers, "coarse");
          const go = element("button", { id: "mix-button", text: "mix" });
          p.append(element("div", { class: "row" }, ["content seed", content, "style seed", style, "layers", layers, go]),
                   element("p", { class: "note", text: "content | style | the content with the style's styles at those layers" }));
          const img = scaled("mix-image", 4);
          p.append(img, statusLine());
          go.onclick = () => showImage(img, api(name, "mix"), postJSON({ content: Number(content.value), style: Number(style.value), layers: layers.value }));
          layers.onchange = go.onclick;
          go.onclick();
        }

        // Reads a server-sent event stream from a fetch (POST bodies need fetch, not EventSource).
        async function readEvents(response, onEvent) {
          const reader = response.body.getReader(), decoder = new TextDecoder();
          let buffered = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffered += decoder.decode(value, { stream: true });
            let cut;
            while ((cut = buffered.indexOf("\n\n")) >= 0) {
              const block = buffered.slice(0, cut); buffered = buffered.slice(cut + 2);
              const event = (block.match(/^event: (.*)$/m) || [])[1], data = (block.match(/^data: (.*)$/m) || [])[1];
              if (event && data) onEvent(event, JSON.parse(data));
            }
          }
        }

        function projectPanel(name, caps) {
          const p = panel("Project an image, then re-style it", "project-panel");
          const file = element("input", { id: "project-file", type: "file", accept: "image/png" });
          const steps = select("project-steps", ["100", "200", "400"], "200");
          const bar = element("progress", { id: "project-progress", max: "1", value: "0" });
          p.append(element("div", { class: "row" }, ["PNG ", file, "steps", steps, bar]));
          const img = element("img", { id: "project-image", class: "pixels", alt: "" }); img.style.zoom = 3;
          const status = statusLine();
          p.append(img, status);
          const style = numberInput("restyle-seed", 3, 0), layers = select("restyle-layers", caps.styleLayers, "fine");
          const go = element("button", { id: "restyle-button", text: "re-style", disabled: "" });
          p.append(element("div", { class: "row" }, ["with the styles of seed", style, "at", layers, go]));
          const result = scaled("restyle-image", 3);
          p.append(result, statusLine());
          let projection = null;
          file.onchange = async () => {
            if (!file.files.length) return;
            status.textContent = "projecting…"; status.classList.remove("error"); go.disabled = true;
            try {
              const r = await fetch(api(name, "project") + "?steps=" + steps.value, { method: "POST", headers: { "Content-Type": "image/png" }, body: file.files[0] });
              if (!r.ok) await fail(r);
              await readEvents(r, (event, data) => {
                if (event === "progress") { bar.value = data.step / data.steps; status.textContent = "step " + data.step + " of " + data.steps + ", loss " + data.loss.toFixed(4); }
                if (event === "done") { projection = data.id; img.src = data.image; status.textContent = "target | reconstruction"; go.disabled = false; }
                if (event === "error") throw new Error(data.message);
              });
            } catch (error) { status.textContent = error.message; status.classList.add("error"); }
          };
          go.onclick = () => showImage(result, api(name, "stylize"), postJSON({ projection, style: Number(style.value), layers: layers.value }));
        }

        function translatePanel(name, caps) {
          const p = panel("Translate a drawing", "translate-panel");
          const size = 280;
          const canvas = element("canvas", { id: "sketch", width: String(size), height: String(size) });
          const context = canvas.getContext("2d");
          const clear = () => { context.fillStyle = "#000"; context.fillRect(0, 0, size, size); };
          clear();
          const direction = select("direction", caps.directions, "AtoB");
          const width = select("pen", ["8", "14", "20", "28"], "14");
          const wipe = element("button", { id: "clear-button", text: "clear" });
          const file = element("input", { id: "translate-file", type: "file", accept: "image/png" });
          p.append(element("div", { class: "row" }, ["direction", direction, "pen", width, wipe, "or a PNG", file]),
                   element("p", { class: "note", text: "Draw in white on black; the model's answer follows every stroke (input | output)." }));
          const output = scaled("translation-image", 5);
          p.append(element("div", { class: "row" }, [canvas, element("div", {}, [output, statusLine()])]));
          const send = (blob) => showImage(output, api(name, "translate") + "?direction=" + direction.value, { method: "POST", headers: { "Content-Type": "image/png" }, body: blob });
          const translateCanvas = () => canvas.toBlob((blob) => send(blob), "image/png");
          let drawing = false, last = null, pending = null;
          const at = (event) => { const r = canvas.getBoundingClientRect(); return [(event.clientX - r.left) * size / r.width, (event.clientY - r.top) * size / r.height]; };
          canvas.addEventListener("pointerdown", (e) => { drawing = true; last = at(e); canvas.setPointerCapture(e.pointerId); });
          canvas.addEventListener("pointermove", (e) => {
            if (!drawing) return;
            const point = at(e);
            context.strokeStyle = "#fff"; context.lineWidth = Number(width.value); context.lineCap = "round";
            context.beginPath(); context.moveTo(...last); context.lineTo(...point); context.stroke();
            last = point;
            if (!pending) pending = setTimeout(() => { pending = null; translateCanvas(); }, 150);
          });
          const end = () => { if (drawing) { drawing = false; translateCanvas(); } };
          canvas.addEventListener("pointerup", end);
          canvas.addEventListener("pointerleave", end);
          wipe.onclick = () => { clear(); translateCanvas(); };
          direction.onchange = translateCanvas;
          file.onchange = () => { if (file.files.length) send(file.files[0]); };
        }

        function drawPanel(name, caps) {
          const p = panel("Watch it draw", "draw-panel");
          const count = select("draw-count", ["1", "4", "9"], "4"), seed = numberInput("draw-seed", 0, 0);
          const controls = element("div", { class: "row" }, ["images", count, "seed", seed]);
          let label = null;
          if (caps.classes) { label = select("draw-label", [...Array(caps.classes).keys()].map(String), "7"); controls.append("class", label); }
          const go = element("button", { id: "draw-button", text: "draw" });
          const bar = element("progress", { id: "draw-progress", max: "1", value: "0" });
          controls.append(go, bar);
          const img = element("img", { id: "draw-image", class: "pixels", alt: "" }); img.style.zoom = 5;
          const status = statusLine();
          p.append(controls, img, status);
          let source = null;
          go.onclick = () => {
            if (source) source.close();
            const q = new URLSearchParams({ count: count.value, seed: seed.value });
            if (label) q.set("label", label.value);
            source = new EventSource(api(name, "draw") + "?" + q);
            status.textContent = "drawing…"; status.classList.remove("error");
            source.addEventListener("frame", (e) => { const f = JSON.parse(e.data); if (f.image) img.src = f.image; bar.value = f.pixels / f.total; status.textContent = f.pixels + " of " + f.total + " pixels"; });
            source.addEventListener("done", () => { source.close(); status.textContent = "done"; img.dataset.done = "1"; });
            source.addEventListener("error", (e) => { source.close(); status.textContent = e.data ? JSON.parse(e.data).message : "the stream was cut"; status.classList.add("error"); });
          };
        }

        function clusterPanel(name, caps) {
          const p = panel("One grid per cluster", "cluster-panel");
          const row = element("div", { class: "clusters" });
          p.append(row);
          for (let k = 0; k < caps.clusters; k++) {
            const img = scaled("cluster-" + k, 1.5);
            row.append(element("figure", {}, [img, element("figcaption", { class: "note", text: "cluster " + k })]));
            showImage(img, api(name, "sample") + "?cluster=" + k + "&count=16&seed=" + k);
          }
        }

        const path = decodeURIComponent(location.pathname);
        (path.startsWith("/runs/") ? runPage(path.slice(6)) : runsPage()).catch((error) => {
          main.replaceChildren(element("p", { class: "error", id: "page-error", text: error.message }));
        });
        """#
}
