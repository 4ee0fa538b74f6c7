// What both uploaders (upload.js for documents, dicom-upload.js for images) show while and
// after they send: the button says how many files and how far, and stays disabled meanwhile;
// a list of what was refused and why stays on the page until the person dismisses it.
// The words are the form's data-text-* attributes, translated by the template.
import { fill } from "./text.js";

export class UploadUI {
  constructor(form) {
    this.form = form;
    this.text = form.dataset;
    this.button = form.querySelector("button[type=submit]");
    this.idleLabel = this.button?.textContent;
    this.progress = form.querySelector("[data-upload-progress]");
    this.results = form.querySelector("[data-upload-results]");
    this.dismiss = null;
  }

  // Nothing chosen: say so where the results go, and send nothing.
  nothingChosen() {
    this.clear();
    this.results.append(this.row("error", this.text.textNoFile));
    this.results.querySelector("li").setAttribute("role", "alert");
  }

  start(count) {
    this.clear();
    this.count = count;
    this.form.setAttribute("aria-busy", "true");
    if (this.progress) {
      this.progress.hidden = false;
      this.progress.value = 0;
    }
    if (this.button) this.button.disabled = true;
    this.percent(0);
  }

  percent(value) {
    if (this.progress) this.progress.value = value;
    if (this.button) this.button.textContent = fill(this.text.textUploading, { count: this.count, percent: value });
  }

  finish() {
    this.form.removeAttribute("aria-busy");
    if (this.button) {
      this.button.disabled = false;
      this.button.textContent = this.idleLabel;
    }
  }

  row(kind, text, name = "") {
    const li = document.createElement("li");
    li.className = kind;
    li.textContent = name ? `${name}: ${text}` : text;
    return li;
  }

  clear() {
    this.results.replaceChildren();
    this.dismiss?.remove();
    this.dismiss = null;
    delete this.form.dataset.uploadRefused;
  }

  // Some files were refused: the list stays, with a button to put it away. What was stored
  // is shown at once by swapping in the server's fresh rendering of `regionIds`.
  keep(regionIds) {
    this.form.dataset.uploadRefused = "true";
    this.dismiss = document.createElement("button");
    this.dismiss.type = "button";
    this.dismiss.className = "button button-quiet";
    this.dismiss.dataset.uploadDismiss = "";
    this.dismiss.textContent = this.text.textDismiss;
    this.dismiss.addEventListener("click", () => {
      this.clear();
      if (this.progress) this.progress.hidden = true;
      this.button?.focus();
    });
    this.results.after(this.dismiss);
    refresh(regionIds);
  }
}

// Fetch this page again and replace the given elements (by id) with their new rendering.
export async function refresh(ids) {
  try {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const id of ids) {
      const now = document.getElementById(id);
      const next = fresh.getElementById(id);
      if (now && next) now.replaceWith(document.importNode(next, true));
    }
  } catch {
    // The list stays as it is; a reload shows the new files.
  }
}
