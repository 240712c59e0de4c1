/* The page's player as the browser tests and the curious read and drive it (an ES module).
 *
 * player.js exports it as `player`; nothing on the page uses it, and it is never a global. A
 * test reaches the page's own instance by importing the URL the page loaded player.js from
 * (one module instance per URL): tests/e2e/conftest.py's `player` fixture does.
 */

/* mixer: the page's Mixer or LiveMixer; zoom: its Zoom; live: whether the page opened while
 * the job separated; tools: {practice, compare, markers, live} as the page wires them (null
 * until then, and where the browser has no Web Audio or the page offers no such tool). */
export function inspection(mixer, zoom, live, tools) {
  return {
    isReady: () => mixer.ready,
    play: () => mixer.play(),
    pause: () => mixer.pause(),
    toggle: () => mixer.toggle(),
    seek: (seconds) => mixer.seek(seconds),
    position: () => mixer.position(),
    /* the position being heard: position() less the output path's delay (the stretcher's) */
    heard: () => mixer.heardPosition(),
    duration: () => mixer.duration,
    playing: () => mixer.playing,
    /* stem name -> the GainNode's gain.value right now (what is audible, before the master) */
    gains: () => mixer.gains(),
    /* the live sources: when each was scheduled to start (ctx time) and from which offset */
    sources: () => mixer.sources(),
    context: () => mixer.ctx,
    /* the part of the song the waveforms show: {start, end} seconds */
    view: () => zoom.current(),
    /* the user's markers ({id, time, name}, sorted) */
    markers: () => (tools.markers ? tools.markers.list() : []),
    /* practice.js's controller: state(), pans(), levels(), … */
    get practice() {
      return tools.practice;
    },
    /* compare.js's controller (another separation of the track, A/B): state(), … */
    get compare() {
      return tools.compare;
    },
    /* listen while it separates: the pieces held and scheduled (null on a finished job) */
    live: () => (live ? mixer.liveState() : null),
    pieceDigest: (index) => (live ? mixer.digest(index) : Promise.resolve(null)),
    /* the buffering rule's plan for playback from `at`, and what it saw and allowed (live.js;
     * null on a finished job) */
    buffering: (at) => (tools.live ? tools.live.plan(at) : null),
    bufferingLog: () => (tools.live ? tools.live.log() : null),
  };
}
