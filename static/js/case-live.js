// Live opinions on the case page: the socket says what changed; the page
// fetches the opinion as HTML with the viewer's own rights and puts it in place.
// The decisions panel (decisions.js) listens on the same socket.
import { mountDecisionPanel } from "./decisions.js";
import { showOpinion } from "./opinions.js";

const section = document.getElementById("opinions");
const decisionRoot = document.querySelector("[data-decision-panel]");
const decisions = decisionRoot
  ? mountDecisionPanel(decisionRoot, { panelUrl: decisionRoot.dataset.panelUrl })
  : null;

function socketUrl(path) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}

let attempt = 0;
function connect() {
  const ws = new WebSocket(socketUrl(section.dataset.caseSocket));
  ws.addEventListener("open", () => {
    if (attempt > 0) decisions?.refresh(); // events may have been missed while away
    attempt = 0;
    section.dataset.live = "open";
  });
  ws.addEventListener("message", (msg) => {
    const event = JSON.parse(msg.data);
    if (event.type === "opinion.posted") {
      showOpinion(document, event, { blindedText: "A new opinion was posted. Post your own to see the others." });
    }
    decisions?.handleEvent(event);
    if (event.type === "case.status") {
      const badge = document.getElementById("case-status");
      if (badge) badge.textContent = event.status.replace("_", " ");
    }
  });
  ws.addEventListener("close", (ev) => {
    section.dataset.live = "closed";
    if (ev.code === 4401 || ev.code === 4403) return;
    attempt += 1;
    setTimeout(connect, Math.min(30000, 500 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random()));
  });
}

connect();
