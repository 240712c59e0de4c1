/* The player's keys (an ES module): space plays or pauses, the arrows move five seconds.
 *
 * Which key does what is decided here from plain values (transportCommand() reads only the
 * event's key, modifiers and target), so it is unit-tested in Node; wireTransportKeys() is the
 * document side. The practice tools and the markers have their own keys (shortcuts.js,
 * markers.js).
 */

export const SEEK_STEP = 5; // seconds an arrow key moves the playhead

const PRESSABLE = ["checkbox", "radio", "button", "submit", "reset"];

/* What the key's target is: {tag, pressable (a button-like input), typing (text goes there)}.
 * target: an element, or anything with its tagName, type and isContentEditable. */
export function targetKind(target) {
  const tag = target && target.tagName ? target.tagName.toLowerCase() : "";
  const type = tag === "input" ? (target.type || "text").toLowerCase() : "";
  const pressable = PRESSABLE.includes(type);
  const typing = Boolean(target) && (Boolean(target.isContentEditable) || tag === "textarea" ||
    tag === "select" || (tag === "input" && type !== "range" && !pressable));
  return { tag, pressable, typing };
}

/* The transport's command for a keydown: "toggle", "back", "forward", or null (not ours).
 * pointerFocus: the focused control was last reached by pointer, not by the keyboard. A control
 * reached with the keyboard keeps its own space (press it); one last clicked with the mouse
 * does not, or space after clicking Mute would unmute. A range input keeps its own arrows. */
export function transportCommand(ev, pointerFocus) {
  if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey) return null;
  const { tag, pressable, typing } = targetKind(ev.target);
  if (typing) return null;
  if (ev.key === " " || ev.code === "Space") {
    const control = pressable || tag === "button" || tag === "a" || tag === "summary";
    return control && !pointerFocus ? null : "toggle";
  }
  if ((ev.key === "ArrowLeft" || ev.key === "ArrowRight") && tag !== "input") {
    return ev.key === "ArrowLeft" ? "back" : "forward";
  }
  return null;
}

/* Whether focus came from a pointer: focus that arrives while a pointer is down came from a
 * click; any other (Tab, script) came from the keyboard. Returns () => that, now. */
function followPointerFocus(doc) {
  let pointerDown = false;
  let pointerFocus = false;
  doc.addEventListener("pointerdown", () => {
    pointerDown = true;
    pointerFocus = true;
  }, true);
  doc.addEventListener("pointerup", () => { pointerDown = false; }, true);
  doc.addEventListener("pointercancel", () => { pointerDown = false; }, true);
  doc.addEventListener("focusin", () => { pointerFocus = pointerDown; }, true);
  return () => pointerFocus;
}

/* The transport's keys on `doc`, acting on `mixer` (mixer.js) once its stems are ready. */
export function wireTransportKeys(doc, mixer) {
  const pointerFocus = followPointerFocus(doc);
  doc.addEventListener("keydown", (ev) => {
    const command = transportCommand(ev, pointerFocus());
    if (command === "toggle") {
      ev.preventDefault();
      if (mixer.ready) mixer.toggle();
    } else if (command && mixer.ready) {
      ev.preventDefault();
      mixer.seek(mixer.position() + (command === "back" ? -SEEK_STEP : SEEK_STEP));
    }
  });
}
