// DICOM upload: files, a CD folder or a zip, sent in batches so a 500-image CD
// shows steady progress and one bad file never sinks the rest.
// The words are the form's (data-text-*, translated by the template).
import { fill } from "./text.js";

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

function row(result) {
  const li = document.createElement("li");
  li.className = result.ok ? "ok" : result.status === "skipped" ? "muted" : "error";
  li.textContent = `${result.name}: ${result.ok ? result.status : result.reason}`;
  return li;
}

function setup(form) {
  const progress = form.querySelector("[data-upload-progress]");
  const summary = form.querySelector("[data-upload-summary]");
  const results = form.querySelector("[data-upload-results]");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const files = [...form.querySelectorAll("input[type=file]")].flatMap((i) => [...i.files]);
    if (!files.length) return;
    const total = files.reduce((n, f) => n + f.size, 0) || 1;
    let done = 0;
    let stored = 0;
    progress.hidden = false;
    results.replaceChildren();
    for (const batch of batches(files)) {
      const batchSize = batch.reduce((n, f) => n + f.size, 0);
      const answer = await send(form, batch, (loaded) => {
        progress.value = Math.round((100 * (done + loaded)) / total);
      });
      done += batchSize;
      progress.value = Math.round((100 * done) / total);
      for (const result of answer) {
        if (result.status === "stored") stored += 1;
        results.append(row(result));
      }
      summary.textContent = fill(form.dataset.textSummary, { stored, checked: results.children.length });
    }
    form.dataset.uploadDone = "true";
    if (stored) setTimeout(() => window.location.reload(), 1200);
  });
}

document.querySelectorAll("form[data-dicom-upload]").forEach(setup);
