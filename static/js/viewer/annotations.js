// The tools, and the annotations the drawing tools make: fetched per series, kept per
// instance, saved to the server (which owns each one's version) and drawn by the viewports.

import { fill } from "../text.js";

// Their names are the server's (config.text.tools, by id).
export const TOOLS = [
  { id: "wl", key: "w" },
  { id: "pan", key: "p" },
  { id: "zoom", key: "z" },
  { id: "scroll", key: "s" },
  { id: "length", key: "l" },
  { id: "angle", key: "a" },
  { id: "ellipse", key: "e" },
  { id: "probe", key: "u" },
  { id: "arrow", key: "t" },
];
// How many points each drawing tool takes (the others move the view).
export const POINTS = { length: 2, angle: 3, ellipse: 2, probe: 1, arrow: 2 };

// A JSON call to the server, answered as { ok, status, data }.
export async function request(csrf, method, url, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  return { ok: response.ok, status: response.status, data };
}

// instance uuid -> [annotation]. `changed` is called when something should be redrawn,
// `flash` with a message for the user; `text` holds the viewer's words.
export class Annotations extends Map {
  constructor({ url, csrf, text, changed, flash }) {
    super();
    this.url = url;
    this.csrf = csrf;
    this.text = text;
    this.changed = changed;
    this.flash = flash;
  }

  onFrame(instance, frame) {
    return (this.get(instance) || []).filter((a) => a.frame === frame);
  }

  store(ann) {
    const list = (this.get(ann.instance) || []).filter((a) => a.id !== ann.id);
    list.push(ann);
    this.set(ann.instance, list);
  }

  forget(id) {
    for (const [instance, list] of this) this.set(instance, list.filter((a) => a.id !== id));
  }

  async load(seriesId) {
    if (!this.url) return;
    const response = await fetch(`${this.url}?series=${seriesId}`, { credentials: "same-origin" });
    if (!response.ok) return;
    const { annotations } = await response.json();
    for (const ann of annotations) this.store(ann);
    this.changed();
  }

  // After someone changed an annotation on an instance: fetch that instance's list again
  // (with this user's rights) and show it.
  async refresh(instance) {
    const response = await fetch(`${this.url}?instance=${instance}`, { credentials: "same-origin" });
    if (!response.ok) return;
    const { annotations } = await response.json();
    this.set(instance, annotations);
    this.changed();
  }

  // A finished draft (the viewer's annotation being drawn).
  async create(draft) {
    if (!this.url) return this.changed();
    if (draft.kind === "arrow") draft.text = window.prompt(this.text.arrowLabelOptional, "") || "";
    const answer = await request(this.csrf, "POST", this.url, {
      instance: draft.instance,
      frame: draft.frame,
      kind: draft.kind,
      points: draft.points,
      text: draft.text || "",
    });
    if (answer.ok) this.store(answer.data);
    else this.flash(answer.data?.error || fill(this.text.notSaved, answer));
    this.changed();
  }

  // Save an edited annotation with the version it was edited from; the server refuses a
  // stale version (409) and sends the current one, which then replaces ours.
  async save(ann, before) {
    const answer = await request(this.csrf, "PUT", `${this.url}${ann.id}/`, {
      points: ann.points,
      text: ann.text || "",
      version: ann.version,
    });
    if (answer.ok) {
      this.store(answer.data);
    } else if (answer.status === 409 && answer.data?.annotation) {
      this.store(answer.data.annotation);
      this.flash(this.text.staleEdit);
    } else {
      ann.points = before;
      this.flash(answer.data?.error || fill(this.text.notSaved, answer));
    }
    this.changed();
  }

  async remove(id) {
    const answer = await request(this.csrf, "DELETE", `${this.url}${id}/`);
    if (answer.ok) this.forget(id);
    else this.flash(fill(this.text.notDeleted, answer));
    this.changed();
  }

  // The handle (a point of one's own annotation) under a canvas point of a viewport, if any.
  handleAt(vp, point) {
    const info = vp.sliceInfo();
    if (!info) return null;
    for (const ann of this.onFrame(info.instance.uuid, info.slice.frame)) {
      if (!ann.mine) continue;
      for (let index = 0; index < ann.points.length; index += 1) {
        const [x, y] = vp.imageToCanvas(ann.points[index]);
        if (Math.hypot(x - point[0], y - point[1]) <= 7) return { ann, index };
      }
    }
    return null;
  }
}
