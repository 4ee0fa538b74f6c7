// DICOM upload: files, a CD folder or a zip, sent in batches so a 500-image CD
// shows steady progress and one bad file never sinks the rest.
// The words are the form's (data-text-*, translated by the template).
import { fill } from "./text.js";
import { UploadUI } from "./upload-ui.js";

const BATCH_FILES = 50;
const BATCH_BYTES = 64 * 1024 * 1024;

function batches(files) {
  const out = [];
  let current = [];
  let size = 0;
  for (const file of files) {
    if (current.length && (current.length >= BATCH_FILES || size + file.size > BATCH_BYTES)) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(file);
    size += file.size;
  }
  if (current.length) out.push(current);
  return out;
}

// A batch goes as multipart/related (one application/dicom part a file), not as a form:
// Daphne's Twisted would otherwise parse every form body a second time, for nothing.
function related(files) {
  const boundary = `consilium-${crypto.getRandomValues(new Uint32Array(2)).join("-")}`;
  const parts = [];
  for (const file of files) {
    const name = (file.webkitRelativePath || file.name).replace(/["\r\n]/g, "_");
    parts.push(`--${boundary}\r\nContent-Type: application/dicom\r\nContent-Disposition: attachment; filename="${encodeURIComponent(name)}"\r\n\r\n`, file, "\r\n");
  }
  parts.push(`--${boundary}--\r\n`);
  return { body: new Blob(parts), type: `multipart/related; type="application/dicom"; boundary=${boundary}` };
}

function send(form, files, onProgress) {
  return new Promise((resolve) => {
    const { body, type } = related(files);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Content-Type", type);
    xhr.setRequestHeader("X-CSRFToken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    xhr.upload.addEventListener("progress", (e) => e.lengthComputable && onProgress(e.loaded));
    xhr.addEventListener("load", () => {
      try {
        resolve(JSON.parse(xhr.responseText).results);
      } catch {
        resolve(files.map((f) => ({ name: f.name, ok: false, reason: `HTTP ${xhr.status}` })));
      }
    });
    xhr.addEventListener("error", () =>
      resolve(files.map((f) => ({ name: f.name, ok: false, reason: form.dataset.textOffline }))),
    );
    xhr.send(body);
  });
}

function row(ui, result) {
  const kind = result.ok ? "ok" : result.status === "skipped" ? "muted" : "error";
  return ui.row(kind, result.ok ? result.status : result.reason, result.name);
}

function setup(form) {
  const ui = new UploadUI(form);
  const summary = form.querySelector("[data-upload-summary]");
  const results = ui.results;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const inputs = [...form.querySelectorAll("input[type=file]")];
    const files = inputs.flatMap((i) => [...i.files]);
    if (!files.length) {
      summary.textContent = "";
      return ui.nothingChosen();
    }
    const total = files.reduce((n, f) => n + f.size, 0) || 1;
    let done = 0;
    let stored = 0;
    let refused = 0;
    delete form.dataset.uploadDone;
    ui.start(files.length);
    for (const batch of batches(files)) {
      const batchSize = batch.reduce((n, f) => n + f.size, 0);
      const answer = await send(form, batch, (loaded) => {
        ui.percent(Math.round((100 * (done + loaded)) / total));
      });
      done += batchSize;
      ui.percent(Math.round((100 * done) / total));
      for (const result of answer) {
        if (result.status === "stored") stored += 1;
        else if (!result.ok && result.status !== "skipped") refused += 1;
        results.append(row(ui, result));
      }
      summary.textContent = fill(form.dataset.textSummary, { stored, checked: results.children.length });
    }
    ui.finish();
    form.dataset.uploadDone = "true";
    if (refused) {
      // The refusals stay until dismissed; what was stored appears in the list above.
      for (const input of inputs) input.value = "";
      ui.keep(stored ? ["imaging-studies"] : []);
    } else if (stored) {
      setTimeout(() => window.location.reload(), 1200);
    }
  });
}

document.querySelectorAll("form[data-dicom-upload]").forEach(setup);
