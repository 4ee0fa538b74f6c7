// Ask before a step that is hard to take back (submitting a case, withdrawing it, withdrawing
// an opinion or a proposal). A form says so with data-confirm="the question" and, if it wants
// its own words on the button, data-confirm-yes="Withdraw" (data-confirm-danger draws that
// button as a danger). Without JavaScript the form still posts; with it, one small modal
// dialog asks first.
//
// The listener runs in the capture phase on the document, so it stops the submission before
// the page's own handlers (decisions.js, opinions.js post by fetch) see it; once the person
// agrees, the form is submitted again through requestSubmit and those handlers run as usual.

const confirmed = new WeakSet();
let dialog = null;

function build() {
  // The words come translated from the page (base.html's script tag).
  const text = document.getElementById("confirm-js")?.dataset || {};
  dialog = document.createElement("dialog");
  dialog.className = "confirm-dialog";
  dialog.setAttribute("aria-labelledby", "confirm-dialog-question");
  const question = document.createElement("p");
  question.id = "confirm-dialog-question";
  question.className = "confirm-question";
  const actions = document.createElement("form");
  actions.method = "dialog";
  actions.className = "confirm-actions";
  const no = document.createElement("button");
  no.type = "submit";
  no.value = "no";
  no.className = "button button-quiet";
  no.textContent = text.cancel || "Cancel";
  const yes = document.createElement("button");
  yes.type = "submit";
  yes.value = "yes";
  yes.dataset.confirmYes = "";
  actions.append(no, yes);
  dialog.append(question, actions);
  dialog.defaultYes = text.yes || "Yes";
  document.body.append(dialog);
  return dialog;
}

// Resolves true when the person agrees; Escape or Cancel is a no.
function ask(question, yesLabel, danger) {
  const box = dialog || build();
  box.querySelector(".confirm-question").textContent = question;
  const yes = box.querySelector("[data-confirm-yes]");
  yes.textContent = yesLabel || box.defaultYes;
  // Withdrawing is drawn as the danger it is; submitting as the step forward it is.
  yes.className = danger ? "button button-danger" : "button";
  box.returnValue = "";
  box.showModal();
  // The safe answer has the focus: Enter on an unread question cancels.
  box.querySelector("button[value=no]").focus();
  return new Promise((resolve) => {
    box.addEventListener("close", () => resolve(box.returnValue === "yes"), { once: true });
  });
}

document.addEventListener(
  "submit",
  async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
    if (confirmed.has(form)) {
      confirmed.delete(form);
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
    const submitter = event.submitter;
    if (await ask(form.dataset.confirm, form.dataset.confirmYes, "confirmDanger" in form.dataset)) {
      confirmed.add(form);
      form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
    }
  },
  true,
);
