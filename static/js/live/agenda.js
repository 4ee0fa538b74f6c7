// The live page's agenda: the list the server's agenda events change, and its drawing.
//
// foldAgenda is pure, as meetings.live.apply_event is on the server: static/js/live/sync.js
// keeps the agenda of the last snapshot and folds each sequenced agenda event into it.
// renderAgenda draws the list as templates/meetings/live/_agenda.html does, from the page
// config's translated texts only.

// Each item: {uuid, case, pseudonym, time_box (minutes), presenter (user uuid or null)}.
export function foldAgenda(agenda, message) {
  const items = agenda || [];
  switch (message.type) {
    case "agenda.item_added": {
      const at = Math.max(0, message.position - 1);
      return [...items.slice(0, at), message.item, ...items.slice(at)];
    }
    case "agenda.item_removed":
      return items.filter((item) => item.uuid !== message.item);
    case "agenda.reordered": {
      const byUuid = new Map(items.map((item) => [item.uuid, item]));
      return message.order.map((uuid) => byUuid.get(uuid)).filter(Boolean);
    }
    case "agenda.presenter":
      return items.map((item) => (item.uuid === message.item ? { ...item, presenter: message.presenter ?? null } : item));
    case "agenda.time_box":
      return items.map((item) => (item.uuid === message.item ? { ...item, time_box: message.minutes } : item));
    default:
      return items;
  }
}

const fill = (text, values) => text.replace(/%\((\w+)\)[sd]/g, (_, key) => String(values[key]));

// `text`: the page config's texts (minutes: [one, many], goTo, goToCase, emptyAgenda);
// `names`: user uuid -> display name; `canGo`: whether to offer "Go to" (the chair).
export function renderAgenda(list, agenda, { current = null, canGo = false, names = new Map(), text }) {
  const rows = agenda.map((item, index) => {
    const li = document.createElement("li");
    li.className = "live-agenda-item";
    li.dataset.item = item.uuid;
    if (item.uuid === current) {
      li.classList.add("is-current");
      li.setAttribute("aria-current", "step");
    }
    const pos = document.createElement("span");
    pos.className = "live-agenda-pos";
    pos.setAttribute("aria-hidden", "true");
    pos.textContent = String(index + 1);
    const body = document.createElement("span");
    body.className = "live-agenda-case";
    const name = document.createElement("strong");
    name.textContent = item.pseudonym;
    const meta = document.createElement("small");
    meta.className = "muted";
    meta.dataset.timeBox = String(item.time_box);
    const [one, many] = text.minutes;
    const parts = [fill(item.time_box === 1 ? one : many, { n: item.time_box })];
    if (item.presenter && names.has(item.presenter)) parts.push(names.get(item.presenter));
    meta.textContent = parts.join(" · ");
    body.append(name, meta);
    li.append(pos, body);
    if (canGo) {
      const go = document.createElement("button");
      go.type = "button";
      go.className = "button button-quiet button-small";
      go.dataset.goto = item.uuid;
      go.setAttribute("aria-label", fill(text.goToCase, { pseudonym: item.pseudonym }));
      go.textContent = text.goTo;
      li.append(go);
    }
    return li;
  });
  if (!rows.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = text.emptyAgenda;
    rows.push(li);
  }
  list.replaceChildren(...rows);
}
