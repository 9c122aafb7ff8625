// @ts-check
// Speaking detection from audio level (WebAudio), one meter per stream, one shared clock.
//
// A timer rather than requestAnimationFrame drives the meters, so that a tab in the background
// still reports who speaks. A short hangover keeps the indicator from flickering between words.

const POLL_MS = 100;
const THRESHOLD = 0.015; // RMS of the time-domain signal, full scale = 1
const HANGOVER_MS = 400;

/**
 * Called when speaking starts or stops, with the RMS level that decided it.
 * @callback SpeakingListener
 * @param {boolean} speaking
 * @param {number} level
 * @returns {void}
 */

/** @type {AudioContext | null} */
let context = null;
/** @type {Set<Meter>} */
const meters = new Set();
/** @type {ReturnType<typeof setInterval> | undefined} */
let timer = undefined;

/** @returns {AudioContext} the page's one audio context, created on first use */
function audioContext() {
  if (context === null) {
    const created = new AudioContext();
    context = created;
    // Browsers without an autoplay exemption start it suspended until the user interacts.
    const resume = () => created.resume().catch(() => {});
    document.addEventListener('pointerdown', resume, { capture: true });
    document.addEventListener('keydown', resume, { capture: true });
  }
  if (context.state === 'suspended') context.resume().catch(() => {});
  return context;
}

function poll() {
  const now = performance.now();
  for (const meter of meters) meter.sample(now);
}

class Meter {
  /**
   * @param {MediaStream} stream
   * @param {SpeakingListener} onChange
   */
  constructor(stream, onChange) {
    const ctx = audioContext();
    this.source = ctx.createMediaStreamSource(stream);
    this.analyser = ctx.createAnalyser();
    // The window covers (nearly) all the audio between two polls: 4096 samples is 85 ms at
    // 48 kHz against a 100 ms poll, so a short sound (a clipped word, a test beep) is
    // not missed for falling between the windows, as it could with 512 (11 ms).
    this.analyser.fftSize = 4096;
    this.buffer = new Float32Array(this.analyser.fftSize);
    this.source.connect(this.analyser);
    this.onChange = onChange;
    this.speaking = false;
    this.lastLoud = -Infinity;
    this.level = 0;
  }

  /** @param {number} now  performance.now() */
  sample(now) {
    this.analyser.getFloatTimeDomainData(this.buffer);
    let sum = 0;
    for (const v of this.buffer) sum += v * v;
    this.level = Math.sqrt(sum / this.buffer.length);
    if (this.level > THRESHOLD) this.lastLoud = now;
    const speaking = now - this.lastLoud < HANGOVER_MS;
    if (speaking !== this.speaking) {
      this.speaking = speaking;
      this.onChange(speaking, this.level);
    }
  }

  stop() {
    this.source.disconnect();
    this.analyser.disconnect();
  }
}

/**
 * Watches the audio of `stream` and calls `onChange(speaking, level)` when speaking starts or
 * stops. Returns a function that stops watching. A stream without audio is never speaking.
 * @param {MediaStream} stream
 * @param {SpeakingListener} onChange
 * @returns {() => void}
 */
export function watchSpeaking(stream, onChange) {
  if (stream.getAudioTracks().length === 0 || typeof AudioContext === 'undefined') {
    return () => {};
  }
  const meter = new Meter(stream, onChange);
  meters.add(meter);
  if (timer === undefined) timer = setInterval(poll, POLL_MS);
  return () => {
    if (!meters.delete(meter)) return;
    meter.stop();
    if (meters.size === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}
