// Keeping the reader's place across a re-render: where focus was (and the caret), and what
// they had typed. Live updates (someone else's vote, a new opinion) replace HTML under the
// reader's hands; without this focus drops to <body>, the half-typed text goes, and the next
// keystrokes land on the page (issue #19).
//
//   const kept = keepPlace(root);
//   root.innerHTML = html;
//   restorePlace(root, kept);

// The focused control inside `root`, as a selector that finds the same control in new HTML
// (an id; else its form's id, its name and, for a radio, its value), with the caret.
function focusSelector(root) {
  const el = document.activeElement;
  if (!el || el === root || !root.contains(el)) return null;
  if (el.id) return `#${CSS.escape(el.id)}`;
  const form = el.form?.id ? `form#${CSS.escape(el.form.id)} ` : "";
  if (el.name) {
    const value = el.type === "radio" || el.type === "checkbox" ? `[value="${CSS.escape(el.value)}"]` : "";
    return `${form}[name="${CSS.escape(el.name)}"]${value}`;
  }
  const details = el.tagName === "SUMMARY" ? el.closest("details") : null;
  if (details?.className) return `details.${CSS.escape(details.className.split(" ")[0])} > summary`;
  return null;
}

// `typed`: also keep the text of every text field with an id (forms the server renders blank).
export function keepPlace(root, { typed = false } = {}) {
  const el = document.activeElement;
  const caret = el && typeof el.selectionStart === "number" ? [el.selectionStart, el.selectionEnd] : null;
  const texts = new Map();
  if (typed) {
    for (const field of root.querySelectorAll("textarea[id], input[id]:not([type]), input[id][type=text]")) {
      if (field.value) texts.set(field.id, field.value);
    }
  }
  const open = [...root.querySelectorAll("details[open] textarea[id]")].map((t) => t.id);
  const inside = Boolean(el && el !== root && root.contains(el));
  return { selector: focusSelector(root), inside, caret, texts, open };
}

// `fallback`: where focus goes when the control it was on is gone from the new HTML (a
// confirmation replaced by the record it confirmed), rather than to <body>.
export function restorePlace(root, { selector, inside, caret, texts, open }, { fallback = null } = {}) {
  for (const [id, value] of texts) {
    const field = root.querySelector(`#${CSS.escape(id)}`);
    if (field && !field.value) field.value = value;
  }
  for (const id of open) {
    const details = root.querySelector(`#${CSS.escape(id)}`)?.closest("details");
    if (details) details.open = true;
  }
  let el = selector ? root.querySelector(selector) : null;
  if (!el && inside && fallback) {
    el = root.querySelector(fallback);
    if (el && el.tabIndex < 0 && !el.matches("a[href], button, input, select, textarea")) el.tabIndex = -1;
  }
  if (!el) return;
  el.focus({ preventScroll: true });
  if (caret && typeof el.setSelectionRange === "function") {
    try {
      el.setSelectionRange(...caret);
    } catch {
      // Not a text control after all (a radio has no caret).
    }
  }
}
