// Words the job's pages share (an ES module without the DOM: node --test tests/js/ runs it).

/* "about 40 s", "about 3 min", "about 1 h 5 min": the rules of the pages' |about filter
 * (demixer/separation/templatetags/waits.py), so a poll does not reword the page. */
export function about(seconds) {
  const whole = Math.round(Math.max(0, seconds));
  if (whole < 60) return "about " + whole + " s";
  let minutes = Math.round(whole / 60);
  if (minutes < 60) return "about " + minutes + " min";
  const hours = Math.floor(minutes / 60);
  minutes -= hours * 60;
  return "about " + hours + " h" + (minutes ? " " + minutes + " min" : "");
}

/* A status's wait or time left, in words: a queued job's wait, a running job's time left;
 * nothing when the server does not know. */
export function eta(s) {
  if (s.status === "queued" && s.wait_seconds !== null && s.wait_seconds !== undefined) {
    return "starts in " + about(s.wait_seconds);
  }
  if (s.status === "running" && s.eta_seconds !== null && s.eta_seconds !== undefined) {
    return about(s.eta_seconds) + " left";
  }
  return "";
}
