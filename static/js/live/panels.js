// The live page's side panels fold on a phone (static/css/live.css): each button shows or
// hides its panel, the state is the button's aria-expanded. Wide, the buttons are not shown
// and the panels are always open.
export function bindPanels(root) {
  root.querySelectorAll("[data-panel-toggle]").forEach((button) => {
    button.addEventListener("click", () => {
      const open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", String(open));
    });
  });
}
