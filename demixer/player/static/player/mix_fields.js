/* The custom mix is rendered with what is heard (an ES module): the practice tools write their
 * tempo, pitch and pans into the mix form's hidden fields (#mix-form: `tempo`, `pitch`,
 * `pan_<stem>`), which the worker applies to the download. A page without the form (a share
 * link that does not allow mixes) ignores them. */

/* The value a field posts: the server parses these (tempo 0.5..1.5, pitch -6..6, pan -1..1). */
export function fieldValue(name, value) {
  if (name === "pitch") return String(value);
  return value.toFixed(2); // tempo, pan_<stem>
}

export class MixFields {
  constructor(form) {
    this.form = form;
  }

  set(name, value) {
    const input = this.form ? this.form.querySelector("input[name='" + name + "']") : null;
    if (input) input.value = fieldValue(name, value);
  }
}
