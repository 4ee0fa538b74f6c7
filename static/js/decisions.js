// The decisions panel of a case: proposals, the vote, the consensus. The server renders it;
// this module posts its forms with fetch and re-fetches it when an event says it changed.
// The case page mounts it from case-live.js, the live meeting page from its own socket:
//
//   const panel = mountDecisionPanel(root, { panelUrl: root.dataset.panelUrl });
//   socket.onmessage = (msg) => panel.handleEvent(JSON.parse(msg.data));
//
// `root` is the element the server's decisions/_panel.html renders (it carries
// data-panel-url), or any empty element: call refresh() once to fill it. The panel URL is
// /cases/<case uuid>/decisions/. Give `caseId` where events of several cases arrive (a
// meeting): events of other cases are then ignored.
//
// Without this module every form still works as a plain POST and redirect.

import { keepPlace, restorePlace } from "./keep.js";

const REFRESH_ON = ["proposal.", "vote.", "consensus."];

// What the user has ticked or typed in forms marked data-keep (a half-filled ballot, a
// consensus draft), so that a refresh caused by someone else's vote does not wipe it.
function keepState(root) {
  const forms = new Map();
  for (const form of root.querySelectorAll("form[data-keep][id]")) {
    const values = [];
    for (const el of form.elements) {
      if (!el.name || el.type === "hidden" || el.type === "password" || el.type === "submit") {
        continue;
      }
      if (el.type === "radio" || el.type === "checkbox") {
        if (el.checked) values.push([el.name, el.value]);
      } else {
        values.push([el.name, el.value]);
      }
    }
    forms.set(form.id, values);
  }
  const open = [...root.querySelectorAll("details[open]")].map((d) => d.className);
  return { forms, open };
}

function restoreState(root, { forms, open }) {
  for (const [id, values] of forms) {
    const form = root.querySelector(`form#${CSS.escape(id)}`);
    if (!form) continue;
    const kept = new Map(values.map(([name, value]) => [`${name}\u0000${value}`, value]));
    const byName = new Map(values);
    for (const el of form.elements) {
      if (el.type === "radio" || el.type === "checkbox") {
        if (byName.has(el.name)) el.checked = kept.has(`${el.name}\u0000${el.value}`);
      } else if (byName.has(el.name) && el.type !== "hidden" && el.type !== "password") {
        el.value = byName.get(el.name);
      }
    }
  }
  for (const details of root.querySelectorAll("details")) {
    if (open.includes(details.className)) details.open = true;
  }
}

export function mountDecisionPanel(root, { panelUrl, caseId = null }) {
  let loading = null;
  let again = false;
  // A polite status region outside the swapped HTML: a live region must exist before its text
  // changes to be announced, and the panel's own HTML is new after every swap.
  const status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  status.dataset.panelStatus = "";
  root.after(status);

  function announce(text) {
    status.textContent = "";
    if (text) setTimeout(() => { status.textContent = text; }, 50);
  }

  function swap(html, { keep }) {
    const state = keep ? keepState(root) : null;
    const place = keep ? keepPlace(root) : null;
    root.innerHTML = html;
    if (state) restoreState(root, state);
    if (place) restorePlace(root, place, { fallback: "#my-vote, #vote-outcome, #vote-round h3, h2" });
  }

  // After one's own submit: focus goes to what came of it (the error summary, the refusal, or
  // the confirmation), and the status region says it.
  function showResult() {
    const target = root.querySelector("[data-error-summary], [data-panel-error], [data-panel-message]");
    if (!target) return;
    target.tabIndex = -1;
    target.focus({ preventScroll: false });
    announce(target.textContent.trim().replace(/\s+/g, " "));
  }

  async function load() {
    const response = await fetch(panelUrl, {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    });
    if (response.ok) swap(await response.text(), { keep: true });
  }

  // Votes arrive in bursts: one fetch at a time, and one more if events came in meanwhile.
  function refresh() {
    if (loading) {
      again = true;
      return loading;
    }
    loading = (async () => {
      do {
        again = false;
        try {
          await load();
        } catch {
          // Offline for a moment: the next event or reconnect refreshes again.
        }
      } while (again);
    })().finally(() => {
      loading = null;
    });
    return loading;
  }

  function showError(text) {
    const p = document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    p.textContent = text;
    root.querySelector("section")?.prepend(p);
  }

  root.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-decision-form")) return;
    event.preventDefault();
    const button = form.querySelector("[type=submit]");
    if (button) button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: {
          "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]")?.value ?? "",
          "X-Requested-With": "fetch",
        },
      });
      // 200: done; 400: the form with its errors; 409: refused by the record. Each is the
      // panel re-rendered by the server (a bound form keeps what was typed).
      if (response.ok || response.status === 400 || response.status === 409) {
        swap(await response.text(), { keep: false });
        showResult();
      } else {
        showError(`${response.status} ${response.statusText}`);
        if (button) button.disabled = false;
      }
    } catch {
      form.submit(); // the network failed under fetch: fall back to a plain post
    }
  });

  return {
    refresh,
    status,
    handleEvent(event) {
      if (typeof event?.type !== "string" || !REFRESH_ON.some((p) => event.type.startsWith(p))) {
        return;
      }
      if (caseId && event.case !== caseId) return;
      refresh();
    },
  };
}
