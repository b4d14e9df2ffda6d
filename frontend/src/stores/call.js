// Pinia store for calls: the call engine (realtime/calls.js) on the chat's
// socket, the tones while a call rings, the notices to show, and the call
// records pushed while the page is open (for the conversation list's
// missed-call preview). The chat store attaches it to its connector; the
// WebRTC helpers are loaded only when a call starts.
import { defineStore } from 'pinia'
import { ref, shallowRef, computed, reactive, watch, markRaw } from 'vue'
import { createCallEngine, isDirect, VIEW_PHASES } from '../realtime/calls'
import { otherPartyId } from '../realtime/reducers'
import { startTone, stopTone } from '../utils/ringtone'

const RECORDS_KEPT = 200

export const useCallStore = defineStore('call', () => {
  const engine = shallowRef(null)
  const connected = ref(false)
  const userRole = ref(null)
  const notice = ref(null) // { key, params, seq }: the latest thing to tell the user
  const records = reactive({}) // message id -> call, for call records pushed live
  let noticeSeq = 0
  let stopTones = null

  const state = computed(() => engine.value?.state || null)
  const phase = computed(() => state.value?.phase || 'idle')
  const busy = computed(() => !!state.value && (state.value.phase !== 'idle' || !!state.value.elsewhere))
  const viewOpen = computed(() => VIEW_PHASES.includes(phase.value))

  function notify(key, params = {}) {
    noticeSeq += 1
    notice.value = { key, params, seq: noticeSeq }
  }

  function remember(m) {
    if (!m || m.message_type !== 'call' || !m.call || m.id == null) return
    records[m.id] = m.call
    const ids = Object.keys(records)
    if (ids.length > RECORDS_KEPT) {
      ids.sort((a, b) => Number(a) - Number(b))
      for (const id of ids.slice(0, ids.length - RECORDS_KEPT)) delete records[id]
    }
  }

  /**
   * Starts calls for user `me` on a socket: `send(frame)`, `barrier()`;
   * `rtc` replaces the browser's WebRTC (tests). Answers the event table
   * to hand the connector with the chat's.
   */
  function attach({ me, role = null, api, send, barrier, rtc = null }) {
    detach()
    userRole.value = role
    const e = createCallEngine({
      me,
      send,
      barrier,
      rtc: rtc || (async () => (await import('../utils/webrtc')).browserRtc(api)),
      notify,
    })
    engine.value = markRaw(e)
    stopTones = watch(
      () => e.state.phase,
      (p) => {
        if (p === 'incoming') startTone('incoming')
        else if (p === 'outgoing') startTone('outgoing')
        else stopTone()
      },
    )
    return markRaw({ ...e.events, message: (evt) => remember(evt.message) })
  }

  function detach() {
    if (stopTones) stopTones()
    stopTones = null
    stopTone()
    if (engine.value) engine.value.dispose()
    engine.value = null
    connected.value = false
  }

  /** The socket opened or went down (a call on it ends with it). */
  function setConnected(open) {
    connected.value = open
    if (!open && engine.value) engine.value.linkDown()
  }

  /**
   * Whether `conv` offers calls, and why they are disabled:
   * `{ show, reason }`, `reason` null, `offline` or `busy`. Calls are for
   * direct conversations, never for administrators.
   */
  function availability(conv) {
    if (!engine.value || userRole.value === 'admin' || !isDirect(conv)) return { show: false, reason: null }
    if (!connected.value) return { show: true, reason: 'offline' }
    if (busy.value) return { show: true, reason: 'busy' }
    return { show: true, reason: null }
  }

  async function start(conv, media) {
    const e = engine.value
    if (!e) return { ok: false, reason: 'offline' }
    const a = availability(conv)
    if (!a.show) return { ok: false, reason: 'unavailable' }
    if (a.reason) return { ok: false, reason: a.reason }
    return e.start({ conversationId: conv.id, peerId: otherPartyId(conv, e.state.me), media })
  }

  const act = (name) => () => (engine.value ? engine.value[name]() : false)

  /** Test and debugging hooks (window.__livechat.call). */
  function testHooks() {
    return {
      peer: () => (engine.value ? engine.value.peer() : null),
      phase: () => phase.value,
      state: () => state.value,
    }
  }

  return {
    engine,
    state,
    phase,
    busy,
    viewOpen,
    connected,
    notice,
    records,
    attach,
    detach,
    setConnected,
    availability,
    start,
    accept: act('accept'),
    decline: act('decline'),
    hangup: act('hangup'),
    toggleMute: act('toggleMute'),
    toggleCamera: act('toggleCamera'),
    knownCall: (messageId) => (messageId != null ? records[messageId] || null : null),
    testHooks,
  }
})
