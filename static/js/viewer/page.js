// The viewer page: one Viewer object, reachable as window.viewer (for the live session).
import { Viewer } from "./viewer.js";

const config = JSON.parse(document.getElementById("viewer-config").textContent);
config.csrf = document.querySelector("[name=csrfmiddlewaretoken]").value;
const viewer = new Viewer(document.querySelector("[data-viewer]"), config);
window.viewer = viewer;
viewer.follow(config.caseSocket);
// The image is this page's content: focus starts on it, so its shortcuts work at once (they
// act only with focus inside the viewer; on the live page nothing takes focus by itself).
viewer.viewports[0].canvas.focus({ preventScroll: true });
const first = new URLSearchParams(window.location.search).get("series") || config.series[0]?.uuid;
if (first) viewer.openSeries(first);
document.body.dataset.viewerReady = "true";
