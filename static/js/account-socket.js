// The signed-in user's socket: when the session ends elsewhere (logout in
// another tab, account deactivated) this page leaves for the login page.
// The server gives the path and the login URL (board/context_processors.py).
import { ReconnectingSocket } from "./socket.js";

const body = document.body;
const node = document.getElementById("account-config");
const config = node ? JSON.parse(node.textContent) : null;

if (config?.socket && "WebSocket" in window) {
  const socket = new ReconnectingSocket(config.socket);
  socket.addEventListener("open", () => {
    body.dataset.socketState = "open";
  });
  socket.addEventListener("close", () => {
    body.dataset.socketState = "closed";
  });
  socket.addEventListener("message", (ev) => {
    body.dispatchEvent(new CustomEvent("consilium:event", { detail: ev.detail }));
  });
  socket.addEventListener("status", (ev) => {
    if (ev.detail === "forbidden") {
      window.location.assign(`${config.loginUrl}?next=${encodeURIComponent(window.location.pathname)}`);
    }
  });
  socket.connect();
}
