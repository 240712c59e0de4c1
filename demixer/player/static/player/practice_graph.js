/* The practice tools' audio graph (an ES module): nodes added to the one mixer.js opened.
 *
 *   source(stem) -> gain -> StereoPanner -> bus ─┐
 *   source(original) -> originalGain ──────────────┴─> master -> [time-stretch] -> out
 *   metronome clicks ──────────────────────────────────────────────────────────> out
 *   out -> destination, and a meter per channel
 *
 * The stretcher (tempo_pitch.js) goes between master and out while it runs; the metronome's
 * clicks (metronome.js) join at out, after it, so they are neither delayed nor shifted by it.
 */

export class PracticeGraph {
  /* mixer: its ctx, master and stems' gains are open; views: the stem rows ({name}) */
  constructor(mixer, views) {
    const ctx = mixer.ctx;
    this.bus = ctx.createGain(); // the stems' sum: silent while the original is compared
    this.originalGain = ctx.createGain();
    this.originalGain.gain.value = 0;
    this.out = ctx.createGain(); // what is heard, after the stretcher when it runs
    mixer.master.disconnect();
    mixer.master.connect(this.out);
    this.out.connect(ctx.destination);
    this.bus.connect(mixer.master);
    this.originalGain.connect(mixer.master);
    this.pans = {}; // stem name -> its StereoPannerNode
    views.forEach((view) => {
      const stem = mixer.stem(view.name);
      const pan = ctx.createStereoPanner();
      stem.gain.disconnect();
      stem.gain.connect(pan);
      pan.connect(this.bus);
      this.pans[view.name] = pan;
    });
    const splitter = ctx.createChannelSplitter(2);
    this.meters = [ctx.createAnalyser(), ctx.createAnalyser()];
    this.out.connect(splitter);
    this.meters.forEach((m, c) => {
      m.fftSize = 4096;
      splitter.connect(m, c);
    });
  }

  /* Whether the stems (true) or the original (false) are heard: a gain change, nothing moves. */
  hearStems(stems) {
    this.bus.gain.value = stems ? 1 : 0;
    this.originalGain.gain.value = stems ? 0 : 1;
  }

  /* stem name -> its StereoPannerNode's pan.value */
  panValues() {
    return Object.fromEntries(Object.entries(this.pans).map(([n, p]) => [n, p.pan.value]));
  }

  /* RMS of what is heard, per channel, over the analysers' last 4096 frames */
  levels() {
    return this.meters.map((m) => {
      const data = new Float32Array(m.fftSize);
      m.getFloatTimeDomainData(data);
      let sum = 0;
      for (let i = 0; i < data.length; i++) sum += data[i] * data[i];
      return Math.sqrt(sum / data.length);
    });
  }
}
