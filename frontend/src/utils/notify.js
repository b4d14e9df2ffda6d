// Browser notifications and a short notification sound.
//
// Permission is only ever requested from a user gesture (a button), never
// on load. The sound uses Web Audio, so no asset is needed; the audio
// context is created lazily on the first user gesture, as browsers require.

let audioCtx = null

export function notificationsSupported() {
  return typeof window !== 'undefined' && 'Notification' in window
}

export function notificationPermission() {
  return notificationsSupported() ? window.Notification.permission : 'unsupported'
}

export async function requestNotificationPermission() {
  if (!notificationsSupported()) return 'unsupported'
  unlockAudio()
  try {
    return await window.Notification.requestPermission()
  } catch {
    return window.Notification.permission
  }
}

export function unlockAudio() {
  if (typeof window === 'undefined') return
  const Ctx = window.AudioContext || window.webkitAudioContext
  if (!Ctx) return
  if (!audioCtx) {
    try {
      audioCtx = new Ctx()
    } catch {
      audioCtx = null
    }
  }
  if (audioCtx && audioCtx.state === 'suspended') audioCtx.resume().catch(() => {})
}

export function playDing() {
  if (!audioCtx) return
  try {
    const t0 = audioCtx.currentTime
    const osc = audioCtx.createOscillator()
    const gain = audioCtx.createGain()
    osc.type = 'sine'
    osc.frequency.setValueAtTime(880, t0)
    osc.frequency.setValueAtTime(1320, t0 + 0.09)
    gain.gain.setValueAtTime(0.0001, t0)
    gain.gain.exponentialRampToValueAtTime(0.25, t0 + 0.02)
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.35)
    osc.connect(gain).connect(audioCtx.destination)
    osc.start(t0)
    osc.stop(t0 + 0.4)
  } catch {
    /* sound is best effort */
  }
}

export function showNotification(title, body, { tag, onClick } = {}) {
  if (notificationPermission() !== 'granted') return null
  try {
    const n = new window.Notification(title, { body, tag, renotify: !!tag })
    n.onclick = () => {
      window.focus()
      if (onClick) onClick()
      n.close()
    }
    return n
  } catch {
    return null
  }
}
