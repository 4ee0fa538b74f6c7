// The clinical record form (templates/cases/_clinical_sections.html). Without JavaScript the
// form works as it is: native selects, every extent group shown, one blank row per formset.
// With it:
// - a search box above each searchable select (WHO entity, ICD-O-3 site) filters its options
//   the way cases.clinical.search_entities does: a number is a code prefix ("8858"), words
//   must each begin a word of the name, a synonym or the code ("lipo dediff", "ddlps");
//   one match is selected at once;
// - only the extent group of the chosen site family is shown (the server drops the others);
// - "add" buttons append a row to the treatment and molecular formsets.

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

function searchable(select) {
  const box = document.createElement("input");
  box.type = "search";
  box.className = "option-search";
  box.id = `${select.id}-search`;
  box.placeholder = select.dataset.searchable === "entity" ? "Search: name, synonym or ICD-O code" : "Search: site or C code";
  box.setAttribute("aria-label", `Search ${select.labels[0]?.textContent.trim() || ""}`);
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
    count.textContent = shown.length === 1 ? "1 match" : `${shown.length} matches`;
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
  const groups = form.querySelectorAll("[data-extent-family]");
  if (!site || !groups.length) return;
  const show = () => {
    for (const group of groups) group.hidden = group.dataset.extentFamily !== site.value;
  };
  site.addEventListener("change", show);
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
    list.lastElementChild.querySelector("select, input")?.focus();
  });
}

for (const form of document.querySelectorAll("[data-clinical-form]")) {
  form.querySelectorAll("select[data-searchable]").forEach(searchable);
  extentByFamily(form);
  form.querySelectorAll("[data-rows]").forEach(rows);
}
