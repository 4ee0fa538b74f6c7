// Live opinions on the case page: the socket says what changed; the thread
// (opinions.js) fetches the opinion with the viewer's own rights and puts it in place.
// The decisions panel (decisions.js) listens on the same socket. The server gives the
// socket path, the panel URL and the words (cases/views.py, case_config).
import { mountDecisionPanel } from "./decisions.js";
import { OpinionThread } from "./opinions.js";
import { ReconnectingSocket } from "./socket.js";

const config = JSON.parse(document.getElementById("case-config").textContent);
const section = document.getElementById("opinions");
const thread = new OpinionThread(document, { blindedText: config.text.blindedNew });
const decisionRoot = document.querySelector("[data-decision-panel]");
const decisions = decisionRoot ? mountDecisionPanel(decisionRoot, { panelUrl: config.panelUrl }) : null;

// After a reconnect (Redis or the server was away) events may have been missed: the page
// is fetched again and its thread and status put in place, so an opinion posted meanwhile
// appears. A reply being typed is kept: the thread is then left as it is.
async function resyncPage() {
  decisions?.refresh();
  const response = await fetch(location.href, { credentials: "same-origin" });
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const current = document.getElementById("thread");
  const fresh = page.getElementById("thread");
  const typing = [...(current?.querySelectorAll("textarea") ?? [])].some((t) => t.value.trim());
  if (current && fresh && !typing) current.replaceWith(document.importNode(fresh, true));
  const badge = document.getElementById("case-status");
  const freshBadge = page.getElementById("case-status");
  if (badge && freshBadge) badge.textContent = freshBadge.textContent;
}

if (config.socket && section) {
  const socket = new ReconnectingSocket(config.socket, {
    resync: () => resyncPage().catch(() => {}), // events may have been missed while away
  });
  socket.addEventListener("open", () => {
    section.dataset.live = "open";
  });
  socket.addEventListener("close", () => {
    section.dataset.live = "closed";
  });
  socket.addEventListener("message", ({ detail: event }) => {
    if (event.type === "opinion.posted") thread.show(event);
    if (event.type === "request.changed") refreshRequests();
    decisions?.handleEvent(event);
    if (event.type === "case.status") {
      const badge = document.getElementById("case-status");
      if (badge) badge.textContent = config.text.statuses[event.status] ?? event.status;
    }
  });
  socket.connect();
}

// A request to the submitter was opened, answered or closed: the section is fetched again
// with the reader's own rights (the event carries no text). A form being filled in stays.
async function refreshRequests() {
  const current = document.getElementById("requests");
  if (!current || current.contains(document.activeElement)) return;
  const response = await fetch(config.requestsUrl, { headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const box = document.createElement("div");
  box.innerHTML = await response.text();
  const fresh = box.querySelector("#requests");
  if (!fresh) return;
  current.replaceWith(fresh);
  // The header's "Awaiting information" follows the section's own flag.
  if (!fresh.querySelector("#awaiting-information")) document.getElementById("case-awaiting")?.remove();
}
