// Live opinions on the case page: the socket says what changed; the page
// fetches the opinion as HTML with the viewer's own rights and puts it in place.
// The decisions panel (decisions.js) listens on the same socket.
import { mountDecisionPanel } from "./decisions.js";

const section = document.getElementById("opinions");
const thread = document.getElementById("thread");
const fragmentBase = section.dataset.fragmentBase;
const decisionRoot = document.querySelector("[data-decision-panel]");
const decisions = decisionRoot
  ? mountDecisionPanel(decisionRoot, { panelUrl: decisionRoot.dataset.panelUrl })
  : null;

function socketUrl(path) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}

async function showOpinion(event) {
  const response = await fetch(`${fragmentBase}${event.opinion}/`, { credentials: "same-origin" });
  if (response.status === 403) {
    const notice = document.getElementById("blinded-notice");
    if (notice) notice.textContent = "A new opinion was posted. Post your own to see the others.";
    return;
  }
  if (!response.ok) return;
  const template = document.createElement("template");
  template.innerHTML = (await response.text()).trim();
  const article = template.content.firstElementChild;
  const existing = document.getElementById(`opinion-${event.opinion}`);
  if (existing) {
    existing.replaceWith(article);
    return;
  }
  document.getElementById("thread-empty")?.remove();
  const li = document.createElement("li");
  li.append(article);
  const parent = event.parent && document.getElementById(`opinion-${event.parent}`);
  if (parent) {
    let replies = parent.parentElement.querySelector(":scope > ol.replies");
    if (!replies) {
      replies = document.createElement("ol");
      replies.className = "thread replies";
      parent.parentElement.append(replies);
    }
    replies.append(li);
  } else {
    thread.append(li);
  }
  article.classList.add("opinion-new");
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
    if (event.type === "opinion.posted") showOpinion(event);
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
