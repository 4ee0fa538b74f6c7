// A case's opinion thread (templates/cases/_thread.html), on the case page and on the
// live meeting page alike. Opinions posted by others arrive as opinion.posted events: each
// is fetched as HTML with this user's own rights and put in its place in the thread.
//
// With `reload` the thread also posts its forms itself and stays on the page (the live
// meeting goes on), then calls `reload` to fetch the whole thread again (after one's own
// post a blinded reviewer sees the others' opinions). Without it the forms post normally.

export class OpinionThread {
  // `container` holds the thread's section (#opinions), now or after a swap.
  constructor(container, { blindedText, reload = null, onError = () => {}, onPosted = () => {} }) {
    this.container = container;
    this.onPosted = onPosted;
    this.blindedText = blindedText;
    this.reload = reload;
    this.onError = onError;
    if (reload) container.addEventListener("submit", (ev) => this.submit(ev));
  }

  // An opinion.posted event for this case.
  async show(event) {
    const root = this.container;
    const section = root.querySelector("#opinions");
    if (!section) return;
    const response = await fetch(`${section.dataset.fragmentBase}${event.opinion}/`, { credentials: "same-origin" });
    if (response.status === 403) {
      // Blinded review: the others' opinions stay hidden until this user posts their own.
      const notice = root.querySelector("#blinded-notice");
      if (notice) notice.textContent = this.blindedText;
      return;
    }
    if (!response.ok) return;
    const template = document.createElement("template");
    template.innerHTML = (await response.text()).trim();
    const article = template.content.firstElementChild;
    const existing = root.querySelector(`#opinion-${CSS.escape(event.opinion)}`);
    if (existing) {
      existing.replaceWith(article);
      return;
    }
    root.querySelector("#thread-empty")?.remove();
    const li = document.createElement("li");
    li.append(article);
    const parent = event.parent && root.querySelector(`#opinion-${CSS.escape(event.parent)}`);
    if (parent) {
      let replies = parent.parentElement.querySelector(":scope > ol.replies");
      if (!replies) {
        replies = document.createElement("ol");
        replies.className = "thread replies";
        parent.parentElement.append(replies);
      }
      replies.append(li);
    } else {
      root.querySelector("#thread")?.append(li);
    }
    article.classList.add("opinion-new");
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
      this.onPosted();
    } catch (err) {
      this.onError(err.message);
    } finally {
      if (button) button.disabled = false;
    }
  }
}
