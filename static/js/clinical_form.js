// The clinical record form (templates/cases/_clinical_sections.html). Without JavaScript the
// form works as it is: native selects, every extent group shown, one blank row per formset.
// With it:
// - a search box above each searchable select (WHO entity, ICD-O-3 site) filters its options
//   the way cases.clinical.search_entities does: a number is a code prefix ("8858"), words
//   must each begin a word of the name, a synonym or the code ("lipo dediff", "ddlps");
//   one match is selected at once;
// - only the extent group of the chosen site family is shown (the server drops the others);
// - the GIST inputs hide for another diagnosis, a treatment row shows its kind's fields;
// - "add" buttons append a row to the treatment and molecular formsets.
// The words are the form's (data-text-*, translated by the template).
import { fill } from "./text.js";

function words(text) {
  return text.toLowerCase().match(/[a-z0-9]+/g) || [];
}

function matches(option, query) {
  const terms = option.dataset.terms || option.textContent.toLowerCase();
  const text = query.trim().toLowerCase();
  if (/^\d[\d/]*$/.test(text)) return terms.split(" ").some((w) => w.startsWith(text));
  if (/^c\d[\d.]*$/.test(text)) return terms.startsWith(text);
  const have = words(terms);
  return words(text).every((q) => have.some((w) => w.startsWith(q)));
}

function searchable(select, text) {
  const box = document.createElement("input");
  box.type = "search";
  box.className = "option-search";
  box.id = `${select.id}-search`;
  box.placeholder = select.dataset.searchable === "entity" ? text.textSearchEntity : text.textSearchTopography;
  box.setAttribute("aria-label", fill(text.textSearchLabel, { label: select.labels[0]?.textContent.trim() || "" }));
  box.setAttribute("aria-controls", select.id);
  const count = document.createElement("span");
  count.className = "help option-search-count";
  count.setAttribute("aria-live", "polite");
  select.before(box);
  box.after(count);
  const options = [...select.options].filter((o) => o.value);
  box.addEventListener("input", () => {
    const query = box.value;
    let shown = [];
    for (const option of options) {
      const hit = !query.trim() || matches(option, query);
      option.hidden = !hit;
      if (hit) shown.push(option);
    }
    for (const group of select.querySelectorAll("optgroup")) {
      group.hidden = ![...group.children].some((o) => !o.hidden);
    }
    if (!query.trim()) {
      count.textContent = "";
      return;
    }
    count.textContent = shown.length === 1 ? text.textOneMatch : fill(text.textMatches, { count: shown.length });
    if (shown.length === 1 && select.value !== shown[0].value) {
      select.value = shown[0].value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
  box.addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter") return;
    ev.preventDefault(); // Enter picks the first match, it does not submit the form
    const first = options.find((o) => !o.hidden);
    if (first) {
      select.value = first.value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
}

function extentByFamily(form) {
  const site = form.querySelector("select[name=primary_site]");
  const groups = [...form.querySelectorAll("[data-extent-family]")];
  const box = form.querySelector("[data-extent]");
  if (!site || !groups.length) return;
  const show = () => {
    for (const group of groups) group.hidden = group.dataset.extentFamily !== site.value;
    box.hidden = groups.every((g) => g.hidden);
  };
  site.addEventListener("change", show);
  show();
}

// The GIST inputs (mitoses per 5 mm², rupture) only once the diagnosis is GIST or not chosen.
function gistSection(form) {
  const entity = form.querySelector("select[name=entity]");
  const section = form.querySelector("#section-gist");
  if (!entity || !section) return;
  const filled = () => [...section.querySelectorAll("input, select")].some((el) => el.value && el.value !== "unknown");
  const show = () => {
    section.hidden = Boolean(entity.value) && entity.value !== "gist" && !filled();
  };
  entity.addEventListener("change", show);
  show();
}

// A treatment row shows the fields of its kind (a filled field of another kind stays
// visible: the server refuses it in words).
const KIND_FIELDS = {
  surgery: ["procedure", "margin"],
  radiotherapy: ["dose_gy", "fractions"],
  systemic: ["regimen", "cycles", "response"],
};
const ALL_KIND_FIELDS = Object.values(KIND_FIELDS).flat();

function treatmentKinds(row) {
  const kind = row.querySelector("select[name$=-kind]");
  if (!kind || !kind.name.startsWith("treatments-")) return;
  const show = () => {
    for (const name of ALL_KIND_FIELDS) {
      const input = row.querySelector(`[name$="-${name}"]`);
      const wrapper = input?.closest(".field");
      if (!wrapper) continue;
      const mine = !kind.value || KIND_FIELDS[kind.value].includes(name);
      wrapper.hidden = !mine && !input.value;
    }
  };
  kind.addEventListener("change", show);
  show();
}

function rows(fieldset) {
  const prefix = fieldset.dataset.rows;
  const total = fieldset.querySelector(`input[name="${prefix}-TOTAL_FORMS"]`);
  const list = fieldset.querySelector("[data-rows-list]");
  const template = fieldset.querySelector("template[data-rows-empty]");
  const add = fieldset.querySelector("[data-rows-add]");
  add.hidden = false;
  add.addEventListener("click", () => {
    const index = Number(total.value);
    const html = template.innerHTML.replaceAll("__prefix__", String(index));
    list.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    treatmentKinds(list.lastElementChild);
    list.lastElementChild.querySelector("select, input")?.focus();
  });
}

for (const form of document.querySelectorAll("[data-clinical-form]")) {
  form.querySelectorAll("select[data-searchable]").forEach((select) => searchable(select, form.dataset));
  extentByFamily(form);
  gistSection(form);
  form.querySelectorAll("[data-rows]").forEach(rows);
  form.querySelectorAll("[data-row]").forEach(treatmentKinds);
}
