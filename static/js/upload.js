// Attachment upload with a progress bar and a per-file result list.
// Without JavaScript the form posts normally and the page shows messages.
// The words are the form's (data-text-*, translated by the template).
import { fill } from "./text.js";

function upload(form) {
  const text = form.dataset;
  const progress = form.querySelector("[data-upload-progress]");
  const results = form.querySelector("[data-upload-results]");
  const input = form.querySelector("input[type=file]");
  form.addEventListener("submit", (ev) => {
    if (!input.files.length) return;
    ev.preventDefault();
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) progress.value = Math.round((100 * e.loaded) / e.total);
    });
    xhr.addEventListener("load", () => {
      progress.value = 100;
      let data;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        results.replaceChildren(item(false, "", fill(text.textFailed, { status: xhr.status })));
        return;
      }
      results.replaceChildren(...data.results.map((r) => item(r.ok, r.name, r.ok ? text.textAttached : r.reason)));
      if (data.results.some((r) => r.ok)) {
        // The new documents are listed by the server-rendered page.
        setTimeout(() => window.location.reload(), 800);
      }
    });
    xhr.addEventListener("error", () => {
      results.replaceChildren(item(false, "", text.textOffline));
    });
    progress.hidden = false;
    progress.value = 0;
    results.replaceChildren();
    xhr.send(new FormData(form));
  });
}

function item(ok, name, text) {
  const li = document.createElement("li");
  li.className = ok ? "ok" : "error";
  li.textContent = name ? `${name}: ${text}` : text;
  return li;
}

document.querySelectorAll("form[data-upload]").forEach(upload);
