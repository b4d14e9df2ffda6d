// One-to-one calls on the chat's socket (docs/realtime.md, "Calls"): the
// state of this tab's call, the handlers of the `call.*` events and the
// peer connection they drive (its offer, answer and candidates are
// utils/webrtc.js's, loaded when a call starts). Plain JS on Vue's reactivity,
// no DOM and no Pinia: the socket (`send`, `barrier`) and the browser's
// WebRTC (`rtc`) are handed in, so unit tests run it with fakes.
//
// Which socket is "mine": the server relays signals only between the
// socket that sent `call.invite` and the one that sent `call.accept`, and
// tells every socket of both parties about every call. So a tab takes part
// in a call only if it invited (the call id is its own) or it accepted;
// every other tab of the two users learns of the call (`elsewhere`: its
// call buttons are disabled) without ringing, or stops ringing when
// another tab answers (`call.accepted` for a call it did not accept).
// Error frames name no call: a refused accept (another tab was first) is
// told apart by a ping barrier sent right behind it, as an error frame
// that arrives before the barrier's pong.
//
// Phases: idle → preparing (devices) → inviting (sent) → outgoing (it
// rings there) → active; idle → incoming (it rings here) → accepting
// (devices, accept sent) → active. Any of them → idle when the call ends.
import { reactive, markRaw } from 'vue'
import { endNoticeKey } from '../utils/callRecord'

/** Phases in which the call view is up (an incoming call shows the dialog instead). */
export const VIEW_PHASES = ['preparing', 'inviting', 'outgoing', 'accepting', 'active']

/** Calls are made in direct conversations only (`kind` is absent in older data). */
export function isDirect(conv) {
  return !!conv && (conv.kind == null || conv.kind === 'direct')
}

/**
 * The local instant the call's timer counts from: the server's
 * `answered_at`, unless this clock disagrees with the server's by more
 * than `tolerance` ms, when the moment the answer arrived stands in.
 */
export function timerOrigin(answeredAt, receivedAt, tolerance = 5000) {
  if (!answeredAt) return receivedAt
  return Math.abs(receivedAt - answeredAt) > tolerance ? receivedAt : answeredAt
}

/**
 * Merges event tables: a type both handle calls both (the chat's first).
 */
export function combineEvents(...tables) {
  const out = {}
  for (const table of tables) {
    for (const [type, fn] of Object.entries(table)) {
      const prev = out[type]
      out[type] = prev
        ? (evt) => {
            prev(evt)
            return fn(evt)
          }
        : fn
    }
  }
  return out
}

const noop = () => {}

function stopStream(stream) {
  if (!stream) return
  for (const track of stream.getTracks()) {
    try {
      track.stop()
    } catch {
      /* already stopped */
    }
  }
}

/**
 * `send(frame)` answers whether the frame went out; `barrier()` resolves
 * once every event the server sent before it has been handled; `rtc` is
 * `{ iceServers(), getUserMedia(media), createSession(options), mediaErrorKey(err) }`
 * (utils/webrtc.js),
 * or a function resolving to it (loaded at the first call);
 * `notify(key, params)` tells the user something (an i18n key).
 */
export function createCallEngine({
  me,
  send,
  barrier = () => Promise.resolve(),
  rtc,
  notify = noop,
  now = Date.now,
  makeId = () => crypto.randomUUID(),
}) {
  const state = reactive({
    me,
    phase: 'idle',
    role: null, // 'caller' | 'callee'
    call: null, // the server's call object (a local draft until it rings)
    media: null,
    conversationId: null,
    peerId: null,
    elsewhere: null, // a call of mine carried by another socket
    connection: 'connecting',
    startedAt: null, // the timer's origin, local ms
    muted: false,
    cameraOff: false,
    remoteMuted: false,
    remoteCameraOff: false,
    local: null,
    remote: null,
  })

  let flow = 0 // bumped whenever the call ends: async steps of an older flow stop
  let session = null // the peer connection's session (utils/webrtc.js)
  let acceptSent = false
  let errorSeq = 0
  let iceServers = []
  let adapter = null

  const live = () => state.phase !== 'idle'
  const busy = () => live() || !!state.elsewhere
  const isCurrent = (call) => !!(call && state.call && call.call_id === state.call.call_id)
  const involvesMe = (call) => call && (call.caller_id === me || call.callee_id === me)

  const mediaErrorKey = (e) => (adapter && adapter.mediaErrorKey ? adapter.mediaErrorKey(e) : 'failed')

  async function loadRtc() {
    if (!adapter) adapter = typeof rtc === 'function' ? await rtc() : rtc
    return adapter
  }

  function sendCall(type, extra = {}) {
    if (!state.call) return false
    return send({ type, call_id: state.call.call_id, ...extra })
  }

  function sendSignal(signal) {
    return sendCall('call.signal', { signal })
  }

  const sendMediaState = () => sendSignal({ type: 'media', muted: state.muted, cameraOff: state.cameraOff })

  // -- ending ------------------------------------------------------------------

  /** Back to idle: the peer connection closed, the devices released. */
  function reset() {
    flow += 1
    if (session) session.close()
    session = null
    stopStream(state.local)
    Object.assign(state, {
      phase: 'idle',
      role: null,
      call: null,
      media: null,
      conversationId: null,
      peerId: null,
      connection: 'connecting',
      startedAt: null,
      muted: false,
      cameraOff: false,
      remoteMuted: false,
      remoteCameraOff: false,
      local: null,
      remote: null,
    })
    acceptSent = false
  }

  // -- devices and the peer connection ----------------------------------------

  /** The local stream and ICE servers for the current flow; null once stale. */
  async function prepare(token, media) {
    const a = await loadRtc()
    const ice = a.iceServers().catch(() => [])
    const stream = await a.getUserMedia(media)
    if (token !== flow) {
      stopStream(stream)
      return null
    }
    iceServers = await ice
    if (token !== flow) {
      stopStream(stream)
      return null
    }
    state.local = markRaw(stream)
    return stream
  }

  /** The peer connection of the active call; the caller then makes the offer. */
  function connect() {
    const token = flow
    const current = () => token === flow
    session = adapter.createSession({
      iceServers,
      stream: state.local,
      role: state.role,
      sendSignal: (signal) => current() && sendSignal(signal),
      onState: (label) => {
        if (current()) state.connection = label
      },
      onConnected: () => {
        // The peer learns of a microphone or camera turned off before it connected.
        if (current() && (state.muted || state.cameraOff)) sendMediaState()
      },
      onRemote: (stream) => {
        if (current()) state.remote = markRaw(stream)
      },
      onFailed: () => {
        if (current()) fail()
      },
    })
    state.connection = 'connecting'
    if (state.role === 'caller') session.offer()
  }

  function becomeActive(call) {
    state.call = call
    state.phase = 'active'
    state.startedAt = timerOrigin(call.answered_at, now())
  }

  // -- what the user does ------------------------------------------------------

  /**
   * Calls the other party of a direct conversation. Resolves to
   * `{ok: true, callId}`, or `{ok: false, reason}`: `busy` (a call is in
   * progress here or in another tab), `offline`, `cancelled` (hung up
   * while the devices were being opened), or a device error's key. The
   * devices are opened before the invite goes out, so a refusal rings
   * nobody.
   */
  async function start({ conversationId, peerId, media = 'audio' }) {
    if (busy()) return { ok: false, reason: 'busy' }
    reset()
    const token = flow
    const callId = makeId()
    Object.assign(state, {
      phase: 'preparing',
      role: 'caller',
      media,
      conversationId,
      peerId,
      call: {
        call_id: callId,
        conversation_id: conversationId,
        caller_id: me,
        callee_id: peerId,
        media,
        state: 'ringing',
        outcome: null,
        created_at: now(),
        answered_at: null,
        ended_at: null,
        duration_ms: null,
      },
    })
    try {
      if (!(await prepare(token, media))) return { ok: false, reason: 'cancelled' }
    } catch (e) {
      if (token !== flow) return { ok: false, reason: 'cancelled' }
      const key = mediaErrorKey(e)
      reset()
      notify(`call.notice.media.${key}`, { media })
      return { ok: false, reason: key }
    }
    state.phase = 'inviting' // before sending: the answer may be handled at once
    if (!send({ type: 'call.invite', call_id: callId, conversation_id: conversationId, media })) {
      reset()
      notify('call.notice.offline')
      return { ok: false, reason: 'offline' }
    }
    // `call.ringing` (or `call.ended`: busy) acknowledges the invite; an
    // invite the server refused has neither before the barrier.
    barrier().then(
      () => {
        if (token === flow && state.phase === 'inviting') {
          reset()
          notify('call.notice.refused')
        }
      },
      noop,
    )
    return { ok: true, callId }
  }

  /** Answers the call ringing here. Resolves to whether the accept went out. */
  async function accept() {
    if (state.phase !== 'incoming') return false
    const token = flow
    state.phase = 'accepting'
    try {
      if (!(await prepare(token, state.media))) return false
    } catch (e) {
      if (token !== flow) return false
      const media = state.media
      sendCall('call.decline')
      reset()
      notify(`call.notice.media.${mediaErrorKey(e)}`, { media })
      return false
    }
    if (state.phase !== 'accepting') return false
    const seq = errorSeq
    acceptSent = true // before sending: the answer may be handled at once
    if (!sendCall('call.accept')) {
      reset()
      notify('call.notice.offline')
      return false
    }
    barrier().then(
      () => {
        // An error before the pong: the accept was refused (another tab
        // answered first, or the call ended in between).
        if (token !== flow || errorSeq === seq) return
        const call = state.call
        reset()
        if (call && call.state === 'active') state.elsewhere = call
        notify('call.notice.answeredElsewhere')
      },
      noop,
    )
    return true
  }

  /** Declines the call ringing here. */
  function decline() {
    if (state.phase !== 'incoming') return false
    sendCall('call.decline')
    reset()
    return true
  }

  /** Ends this tab's call, whatever its phase: cancels, declines or hangs up. */
  function hangup() {
    switch (state.phase) {
      case 'idle':
        return false
      case 'preparing':
        break // nothing went out yet
      case 'inviting':
      case 'outgoing':
        sendCall('call.cancel')
        break
      case 'incoming':
        sendCall('call.decline')
        break
      case 'accepting':
        sendCall(acceptSent ? 'call.hangup' : 'call.decline')
        break
      default:
        sendCall('call.hangup')
    }
    reset()
    return true
  }

  /** The peer connection failed: the call ends as `failed`. */
  function fail() {
    if (state.phase !== 'active' && state.phase !== 'accepting') return
    sendCall('call.hangup', { reason: 'failed' })
    reset()
    notify('call.notice.self.failed')
  }

  function applyTracks() {
    const s = state.local
    if (!s) return
    for (const track of s.getAudioTracks()) track.enabled = !state.muted
    for (const track of s.getVideoTracks()) track.enabled = !state.cameraOff
    if (state.phase === 'active') sendMediaState()
  }

  function toggleMute() {
    if (!live()) return
    state.muted = !state.muted
    applyTracks()
  }

  function toggleCamera() {
    if (!live() || state.media !== 'video') return
    state.cameraOff = !state.cameraOff
    applyTracks()
  }

  /**
   * The socket closed: the server ends any call this socket carried (or
   * rang on), and the next socket is another one, so this tab's call is
   * over. Calls of other tabs are forgotten too (their end may be missed).
   */
  function linkDown() {
    state.elsewhere = null
    if (state.phase === 'idle' || state.phase === 'preparing') return
    const wasRinging = state.phase === 'incoming'
    reset()
    if (!wasRinging) notify('call.notice.connectionLost')
  }

  // -- what the server says ----------------------------------------------------

  function ended(call) {
    if (isCurrent(call)) {
      reset()
      const key = endNoticeKey(call, me)
      if (key) notify(key, { call })
    } else if (state.elsewhere && state.elsewhere.call_id === call.call_id) {
      state.elsewhere = null
    }
  }

  const events = {
    'call.ringing': (evt) => {
      const call = evt.call
      if (!involvesMe(call)) return
      if (isCurrent(call)) {
        if (state.phase === 'inviting') state.phase = 'outgoing'
        state.call = call
        return
      }
      if (call.caller_id === me) {
        state.elsewhere = call // placed from another tab
        return
      }
      if (live()) return // one call at a time: a second one does not ring here
      reset()
      Object.assign(state, {
        phase: 'incoming',
        role: 'callee',
        call,
        media: call.media === 'video' ? 'video' : 'audio',
        conversationId: call.conversation_id,
        peerId: call.caller_id,
      })
    },
    'call.accepted': (evt) => {
      const call = evt.call
      if (!involvesMe(call)) return
      if (!isCurrent(call)) {
        if (state.elsewhere && state.elsewhere.call_id === call.call_id) state.elsewhere = call
        return
      }
      if (state.role === 'caller') {
        if (state.phase !== 'inviting' && state.phase !== 'outgoing') return
        becomeActive(call)
        connect()
      } else if (state.phase === 'accepting' && acceptSent) {
        becomeActive(call)
        connect() // the offer comes from the caller
      } else if (state.phase === 'incoming' || state.phase === 'accepting') {
        // Answered in another tab.
        reset()
        state.elsewhere = call
        notify('call.notice.answeredElsewhere')
      }
    },
    'call.signal': (evt) => {
      if (!state.call || evt.call_id !== state.call.call_id || state.phase !== 'active') return
      const signal = evt.signal
      if (signal && signal.type === 'media') {
        state.remoteMuted = !!signal.muted
        state.remoteCameraOff = !!signal.cameraOff
      } else if (session) {
        session.handle(signal)
      }
    },
    'call.ended': (evt) => {
      if (involvesMe(evt.call)) ended(evt.call)
    },
    error: () => {
      errorSeq += 1
    },
  }

  return {
    state,
    events,
    busy,
    start,
    accept,
    decline,
    hangup,
    fail,
    toggleMute,
    toggleCamera,
    linkDown,
    /** The active RTCPeerConnection, or null (test and debugging hook). */
    peer: () => (session ? session.pc : null),
    dispose: reset,
  }
}
