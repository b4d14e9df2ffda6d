// Call tones made with Web Audio (no asset): the ring of an incoming call
// (two short bursts every two seconds) and the ring-back a caller hears
// while the other side rings (one long, quiet burst every four seconds).
// Browsers only let a page make sound after a user gesture; the context is
// created or resumed on the first pointer or key press, and a tone that
// cannot play yet is simply silent.

const PATTERNS = {
  incoming: { period: 2000, freqs: [440, 480], gain: 0.18, bursts: [[0, 0.4], [0.6, 0.4]] },
  outgoing: { period: 4000, freqs: [425], gain: 0.08, bursts: [[0, 1.0]] },
}

let ctx = null
let timer = null
let playing = null
let nodes = []

function context() {
  if (typeof window === 'undefined') return null
  const Ctx = window.AudioContext || window.webkitAudioContext
  if (!Ctx) return null
  if (!ctx) {
    try {
      ctx = new Ctx()
    } catch {
      ctx = null
    }
  }
  if (ctx && ctx.state === 'suspended') ctx.resume().catch(() => {})
  return ctx
}

if (typeof window !== 'undefined') {
  const unlock = () => {
    context()
    window.removeEventListener('pointerdown', unlock)
    window.removeEventListener('keydown', unlock)
  }
  window.addEventListener('pointerdown', unlock)
  window.addEventListener('keydown', unlock)
}

function burst(ac, { freqs, gain }, start, length) {
  const g = ac.createGain()
  g.gain.setValueAtTime(0.0001, start)
  g.gain.exponentialRampToValueAtTime(gain, start + 0.03)
  g.gain.setValueAtTime(gain, start + length - 0.05)
  g.gain.exponentialRampToValueAtTime(0.0001, start + length)
  g.connect(ac.destination)
  for (const f of freqs) {
    const osc = ac.createOscillator()
    osc.type = 'sine'
    osc.frequency.setValueAtTime(f, start)
    osc.connect(g)
    osc.start(start)
    osc.stop(start + length + 0.02)
    nodes.push(osc)
    osc.onended = () => {
      nodes = nodes.filter((n) => n !== osc)
    }
  }
}

function cycle(pattern) {
  const ac = context()
  if (!ac || ac.state !== 'running') return
  const t0 = ac.currentTime + 0.02
  try {
    for (const [at, length] of pattern.bursts) burst(ac, pattern, t0 + at, length)
  } catch {
    /* sound is best effort */
  }
}

/** Starts the `incoming` or `outgoing` tone (replacing any other). */
export function startTone(kind) {
  const pattern = PATTERNS[kind]
  if (!pattern || playing === kind) return
  stopTone()
  playing = kind
  cycle(pattern)
  timer = setInterval(() => cycle(pattern), pattern.period)
}

export function stopTone() {
  if (timer) clearInterval(timer)
  timer = null
  playing = null
  for (const osc of nodes) {
    try {
      osc.stop()
    } catch {
      /* already stopped */
    }
  }
  nodes = []
}

/** Which tone plays, or null. */
export const currentTone = () => playing
