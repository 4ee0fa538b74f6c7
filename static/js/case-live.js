// Live opinions on the case page: the socket says what changed; the page
// fetches the opinion as HTML with the viewer's own rights and puts it in place.
// The decisions panel (decisions.js) listens on the same socket.
import { mountDecisionPanel } from "./decisions.js";
import { showOpinion } from "./opinions.js";
import { ReconnectingSocket } from "./socket.js";

const section = document.getElementById("opinions");
const decisionRoot = document.querySelector("[data-decision-panel]");
const decisions = decisionRoot
  ? mountDecisionPanel(decisionRoot, { panelUrl: decisionRoot.dataset.panelUrl })
  : null;

const socket = new ReconnectingSocket(section.dataset.caseSocket, {
  resync: () => decisions?.refresh(), // events may have been missed while away
});
socket.addEventListener("open", () => {
  section.dataset.live = "open";
});
socket.addEventListener("close", () => {
  section.dataset.live = "closed";
});
socket.addEventListener("message", ({ detail: event }) => {
  if (event.type === "opinion.posted") {
    showOpinion(document, event, { blindedText: "A new opinion was posted. Post your own to see the others." });
  }
  decisions?.handleEvent(event);
  if (event.type === "case.status") {
    const badge = document.getElementById("case-status");
    if (badge) badge.textContent = event.status.replace("_", " ");
  }
});
socket.connect();
