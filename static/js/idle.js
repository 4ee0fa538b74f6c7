// The idle warning: a minute before the session would end for inactivity, a dialog offers
// "Stay signed in"; if nobody answers, the page asks the server once more (which ends the
// session) and leaves for the login page. The person's own interaction with the page
// (pointer, keys, wheel, touch) counts as activity: it is reported at most once a
// touchEvery interval, so a live meeting watched and pointed at does not time out.
// The server gives the numbers and addresses (board/session_context.py).

const node = document.getElementById("idle-config");
const config = node ? JSON.parse(node.textContent) : null;
const dialog = document.querySelector(".idle-warning");

class IdleWatch {
  constructor(cfg, box) {
    this.cfg = cfg;
    this.box = box;
    this.seconds = box.querySelector("[data-idle-seconds]");
    this.deadline = Date.now() + cfg.remaining * 1000;
    this.lastReport = Date.now();
    this.timer = null;
    this.ticker = null;
    this.returnFocus = null;
    box.querySelector("[data-idle-stay]").addEventListener("click", () => this.stay());
    for (const type of ["pointerdown", "pointermove", "keydown", "wheel", "touchstart"]) {
      window.addEventListener(type, () => this.interacted(), { passive: true, capture: true });
    }
    this.schedule();
  }

  schedule() {
    clearTimeout(this.timer);
    const untilWarning = this.deadline - this.cfg.warnBefore * 1000 - Date.now();
    this.timer = setTimeout(() => this.check(), Math.max(0, untilWarning));
  }

  async post(url) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": this.cfg.csrfToken, Accept: "application/json" },
    });
    return response;
  }

  async remaining() {
    // Asking does not count as activity; past the deadline it ends the session.
    const response = await fetch(this.cfg.statusUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      redirect: "manual",
    });
    if (!response.ok) return 0;
    return (await response.json()).remaining;
  }

  async check() {
    let left;
    try {
      left = await this.remaining();
    } catch {
      left = Math.max(0, (this.deadline - Date.now()) / 1000);
    }
    this.deadline = Date.now() + left * 1000;
    if (left <= 0) return this.expire();
    // Activity in another tab moved the deadline: wait again.
    if (left > this.cfg.warnBefore + 1) return this.schedule();
    this.warn();
  }

  warn() {
    if (this.box.hidden) {
      this.returnFocus = document.activeElement;
      this.box.hidden = false;
      this.box.querySelector("[data-idle-stay]").focus();
    }
    this.tick();
    clearInterval(this.ticker);
    this.ticker = setInterval(() => this.tick(), 1000);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), Math.max(0, this.deadline - Date.now()) + 250);
  }

  tick() {
    this.seconds.textContent = String(Math.max(0, Math.ceil((this.deadline - Date.now()) / 1000)));
  }

  hide() {
    clearInterval(this.ticker);
    if (!this.box.hidden) {
      this.box.hidden = true;
      this.returnFocus?.focus?.();
    }
  }

  async stay() {
    const response = await this.post(this.cfg.keepAliveUrl);
    if (!response.ok) return this.expire();
    this.lastReport = Date.now();
    this.deadline = Date.now() + (await response.json()).remaining * 1000;
    this.hide();
    this.schedule();
  }

  interacted() {
    // While the warning shows, only its button keeps the session.
    if (!this.box.hidden) return;
    if (Date.now() - this.lastReport < this.cfg.touchEvery * 1000) return;
    this.lastReport = Date.now();
    this.post(this.cfg.keepAliveUrl)
      .then(async (response) => {
        if (!response.ok) return;
        this.deadline = Date.now() + (await response.json()).remaining * 1000;
        this.schedule();
      })
      .catch(() => {});
  }

  expire() {
    this.hide();
    clearTimeout(this.timer);
    const next = encodeURIComponent(window.location.pathname);
    window.location.assign(`${this.cfg.loginUrl}?next=${next}`);
  }
}

if (config && dialog) {
  window.consiliumIdle = new IdleWatch(config, dialog);
}
