// The viewer page: one Viewer object, reachable as window.viewer (for the live session).
import { Viewer } from "./viewer.js";

const config = JSON.parse(document.getElementById("viewer-config").textContent);
config.csrf = document.querySelector("[name=csrfmiddlewaretoken]").value;
const viewer = new Viewer(document.querySelector("[data-viewer]"), config);
window.viewer = viewer;
viewer.follow(config.caseSocket);
const first = new URLSearchParams(window.location.search).get("series") || config.series[0]?.uuid;
if (first) viewer.openSeries(first);
document.body.dataset.viewerReady = "true";
