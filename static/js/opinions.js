// One opinion arriving live (an opinion.posted event): fetched as HTML with the viewer's own
// rights and put in its place in the thread under `root` (the case page's or the live page's).

export async function showOpinion(root, event, { blindedText }) {
  const section = root.querySelector("#opinions");
  if (!section) return;
  const response = await fetch(`${section.dataset.fragmentBase}${event.opinion}/`, { credentials: "same-origin" });
  if (response.status === 403) {
    // Blinded review: the others' opinions stay hidden until this user posts their own.
    const notice = root.querySelector("#blinded-notice");
    if (notice) notice.textContent = blindedText;
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
