/* The practice tools' keys on the result page (an ES module): [ and ] set the loop's start and
 * end at the playhead, L loops, C compares with the original, K switches the metronome on and
 * off. keyboard.js has the transport's (space, arrows), markers.js M. Which key does what is
 * pure (node --test tests/js/); wireShortcuts() listens. */

const PRESSABLE = ["checkbox", "radio", "button", "submit", "reset", "range"];

/* Whether a key pressed on `target` (an element, or null) is typing, not a shortcut: text
 * fields, text areas, selects and editable content keep their keys. */
export function typingIn(target) {
  if (!target) return false;
  const tag = target.tagName ? target.tagName.toLowerCase() : "";
  const type = tag === "input" ? (target.type || "text").toLowerCase() : "";
  return Boolean(target.isContentEditable || tag === "textarea" || tag === "select" ||
    (tag === "input" && PRESSABLE.indexOf(type) === -1));
}

const KEYS = {
  "[": "loop-a",
  "]": "loop-b",
  l: "loop",
  c: "compare",
  k: "metronome",
};

/* The action a keydown asks for ("loop-a", "loop-b", "loop", "compare", "metronome"), or null:
 * none with a modifier, while typing, or once another handler took the key. */
export function shortcutFor(ev) {
  if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey || typingIn(ev.target)) {
    return null;
  }
  const key = String(ev.key).toLowerCase();
  return Object.hasOwn(KEYS, key) ? KEYS[key] : null;
}

/* actions: action name -> function; enabled(): whether the tools work now */
export function wireShortcuts(doc, actions, enabled) {
  doc.addEventListener("keydown", (ev) => {
    const action = shortcutFor(ev);
    if (!action || !actions[action] || !enabled()) return;
    actions[action]();
    ev.preventDefault();
  });
}
