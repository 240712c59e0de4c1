/* User markers on the result page (an ES module): name a point of the song, jump to it, loop
 * between two. The list is kept in the browser (localStorage, per job), sorted by time; the
 * pure edits are exported for node --test tests/js/, the page part is wireMarkers().
 */

const MIN_GAP = 0.1; // seconds: two markers closer than this are one

/* list + a marker at `time` named `name` (a default "Marker n" when blank): a new sorted list. */
export function addMarker(list, time, name) {
  if (list.some((m) => Math.abs(m.time - time) < MIN_GAP)) return list;
  const id = list.reduce((top, m) => Math.max(top, m.id), 0) + 1;
  const marker = { id: id, time: Math.max(0, time), name: (name || "").trim() || "Marker " + id };
  return [...list, marker].sort((a, b) => a.time - b.time);
}

export function renameMarker(list, id, name) {
  return list.map((m) => (m.id === id ? { ...m, name: name.trim() || m.name } : m));
}

export function removeMarker(list, id) {
  return list.filter((m) => m.id !== id);
}

/* The loop from marker `id` to the next one (or the song's end). */
export function loopFrom(list, id, duration) {
  const i = list.findIndex((m) => m.id === id);
  if (i === -1) return null;
  const end = i + 1 < list.length ? list[i + 1].time : duration;
  return end > list[i].time ? { start: list[i].time, end: end } : null;
}

/* A stored list, checked: anything else is an empty list (storage is the browser's to lose). */
export function parseMarkers(text) {
  try {
    const data = JSON.parse(text);
    if (!Array.isArray(data)) return [];
    return data
      .filter((m) => m && Number.isFinite(m.time) && Number.isInteger(m.id) &&
        typeof m.name === "string")
      .map((m) => ({ id: m.id, time: m.time, name: m.name }))
      .sort((a, b) => a.time - b.time);
  } catch {
    return [];
  }
}

/* The page part: the "Marker" button ([data-action=marker-add], key M) adds one at the
 * playhead; each marker's row ([data-role=markers] li) jumps to it, renames it, loops from it
 * to the next one, or removes it. player: {duration(), position(), seek(t), setLoop(start,
 * end), enabled()}; onChange(list) after each edit (the ruler draws them). */
export function wireMarkers(root, player, storageKey, onChange) {
  const addBtn = root.querySelector("[data-action='marker-add']");
  const listEl = root.querySelector("[data-role='markers']");
  if (!addBtn || !listEl) return { list: () => [], refresh() {} };
  let list = [];
  try {
    list = parseMarkers(window.localStorage.getItem(storageKey) || "[]");
  } catch {
    list = []; // storage refused (a privacy setting): markers last for this page only
  }

  function save() {
    try {
      window.localStorage.setItem(storageKey, JSON.stringify(list));
    } catch {
      /* kept on this page only */
    }
  }

  function fmt(t) {
    const m = Math.floor(t / 60);
    const s = t - m * 60;
    return m + ":" + (s < 10 ? "0" : "") + s.toFixed(1);
  }

  function button(text, action, label) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "chip";
    b.textContent = text;
    b.setAttribute("data-action", action);
    if (label) b.setAttribute("aria-label", label);
    return b;
  }

  function render() {
    const on = player.enabled();
    addBtn.disabled = !on;
    listEl.replaceChildren(...list.map((m) => {
      const li = document.createElement("li");
      li.className = "marker";
      li.setAttribute("data-marker-id", String(m.id));
      const go = button(fmt(m.time), "marker-go", "Go to " + m.name + " at " + fmt(m.time));
      const name = document.createElement("input");
      name.type = "text";
      name.value = m.name;
      name.maxLength = 40;
      name.setAttribute("data-role", "marker-name");
      name.setAttribute("aria-label", "Name of the marker at " + fmt(m.time));
      const loop = button("Loop", "marker-loop", "Loop from " + m.name + " to the next marker");
      const remove = button("×", "marker-remove", "Remove " + m.name);
      [go, loop, remove].forEach((b) => { b.disabled = !on; });
      name.disabled = !on;
      go.addEventListener("click", () => player.seek(m.time));
      name.addEventListener("change", () => edit(renameMarker(list, m.id, name.value)));
      loop.addEventListener("click", () => {
        const range = loopFrom(list, m.id, player.duration());
        if (range) player.setLoop(range.start, range.end);
      });
      remove.addEventListener("click", () => edit(removeMarker(list, m.id)));
      li.append(go, name, loop, remove);
      return li;
    }));
    listEl.hidden = list.length === 0;
  }

  function edit(next) {
    list = next;
    save();
    render();
    onChange(list);
  }

  function add() {
    if (!player.enabled()) return;
    const before = list.length;
    edit(addMarker(list, player.position(), ""));
    if (list.length === before) return; // one is there already
    const id = Math.max(...list.map((m) => m.id));
    const input = listEl.querySelector("li[data-marker-id='" + id + "'] [data-role='marker-name']");
    if (input) input.select(); // name it at once
  }

  addBtn.addEventListener("click", add);
  document.addEventListener("keydown", (ev) => {
    if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const t = ev.target;
    const tag = t && t.tagName ? t.tagName.toLowerCase() : "";
    if (tag === "input" && t.type !== "range") return;
    if (tag === "textarea" || tag === "select" || (t && t.isContentEditable)) return;
    if (ev.key !== "m" && ev.key !== "M") return;
    ev.preventDefault();
    add();
  });
  render();
  onChange(list);
  return { list: () => list.slice(), refresh: render };
}
