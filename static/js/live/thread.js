// The current case's opinions on the live page. Posting stays on the page (the meeting
// goes on); others' opinions arrive as socket events and are fetched with this user's
// own rights, as on the case page (static/js/case-live.js).

import { showOpinion } from "../opinions.js";

export class LiveThread {
  // `reload` fetches the whole thread again (after one's own post: a blinded reviewer
  // then sees the others' opinions).
  constructor(container, { reload, onError, blindedText }) {
    this.container = container;
    this.blindedText = blindedText;
    this.reload = reload;
    this.onError = onError || (() => {});
    container.addEventListener("submit", (ev) => this.submit(ev));
  }

  async submit(ev) {
    const form = ev.target.closest("form");
    if (!form || form.method.toLowerCase() !== "post") return;
    ev.preventDefault();
    const button = form.querySelector("[type=submit]");
    if (button) button.disabled = true;
    try {
      // The opinion views answer with a redirect to the case page; not following it keeps
      // the meeting on screen.
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        redirect: "manual",
      });
      if (response.type !== "opaqueredirect" && !response.ok) throw new Error(`HTTP ${response.status}`);
      form.reset();
      await this.reload();
    } catch (err) {
      this.onError(err.message);
    } finally {
      if (button) button.disabled = false;
    }
  }

  // An opinion.posted event for the case on screen.
  show(event) {
    return showOpinion(this.container, event, { blindedText: this.blindedText });
  }
}
