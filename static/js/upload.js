// Attachment upload with a progress bar and a per-file result list.
// Without JavaScript the form posts normally and the page shows messages.
// The words are the form's (data-text-*, translated by the template).
import { fill } from "./text.js";
import { UploadUI } from "./upload-ui.js";

function upload(form) {
  const text = form.dataset;
  const ui = new UploadUI(form);
  const input = form.querySelector("input[type=file]");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!input.files.length) {
      // An answer to a board's request may be text alone: it posts as without JavaScript.
      if ("uploadOptional" in form.dataset) return form.submit();
      return ui.nothingChosen();
    }
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) ui.percent(Math.round((100 * e.loaded) / e.total));
    });
    xhr.addEventListener("load", () => {
      ui.percent(100);
      ui.finish();
      let data;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        ui.results.replaceChildren(ui.row("error", fill(text.textFailed, { status: xhr.status })));
        return ui.keep([]);
      }
      ui.results.replaceChildren(...data.results.map((r) => ui.row(r.ok ? "ok" : "error", r.ok ? text.textAttached : r.reason, r.name)));
      const stored = data.results.some((r) => r.ok);
      if (data.results.every((r) => r.ok)) {
        // All went in: the server-rendered page lists them (and updates the checklist).
        setTimeout(() => window.location.reload(), 800);
      } else {
        input.value = "";
        ui.keep(stored ? ["attachment-region"] : []);
      }
    });
    xhr.addEventListener("error", () => {
      ui.finish();
      ui.results.replaceChildren(ui.row("error", text.textOffline));
      ui.keep([]);
    });
    ui.start(input.files.length);
    xhr.send(new FormData(form));
  });
}

document.querySelectorAll("form[data-upload]").forEach(upload);
