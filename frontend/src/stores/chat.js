// Pinia store for the chat page: wires the engine (chatEngine.js) to the
// WebSocket, page visibility, document title and notifications.
import { defineStore } from 'pinia'
import { ref, shallowRef, computed, markRaw, watch } from 'vue'
import { createChatEngine } from './chatEngine'
import { ReconnectingSocket } from '../utils/socket'
import { createBackoff } from '../utils/backoff'
import { createTypingSender } from '../utils/typing'
import { showNotification, playDing, notificationPermission } from '../utils/notify'
import { otherParty, myUnread } from './chatLogic'
import { useSessionStore } from './session'

function pageVisible() {
  return document.visibilityState === 'visible' && document.hasFocus()
}

export const useChatStore = defineStore('chat', () => {
  const engine = shallowRef(null)
  const connection = ref('idle')
  const everOpened = ref(false)
  const nextRetryAt = ref(0)
  const notifyEnabled = ref(false)
  // Sound, like notifications, only once the user has asked for it.
  const soundEnabled = ref(localStorage.getItem('livechat.sound') === 'on')
  let socket = null
  let typingSender = null
  let cleanup = []
  let baseTitle = document.title || 'livechat'
  let t = (k) => k

  const state = computed(() => engine.value?.state || null)
  const totalUnread = computed(() => (engine.value ? engine.value.total() : 0))

  function wsUrl(session) {
    const proto = location.protocol === 'https:' ? 'wss' : 'ws'
    return `${proto}://${location.host}/ws/${encodeURIComponent(session.user.id)}?token=${encodeURIComponent(session.token)}`
  }

  function notifyIncoming(msg, conv, { viewing }) {
    const hidden = document.visibilityState !== 'visible' || !document.hasFocus()
    if (viewing && !hidden) return
    if (!hidden) return // the list badge is enough while the page is in front
    if (soundEnabled.value) playDing()
    if (notifyEnabled.value && notificationPermission() === 'granted') {
      const other = conv ? otherParty(conv, engine.value.state.me) : msg.sender || { id: msg.sender_id }
      const kinds = { image: 'chat.preview.image', file: 'chat.preview.file', voice: 'chat.preview.voice', order: 'chat.preview.order' }
      const body = kinds[msg.message_type] ? t(kinds[msg.message_type]) : String(msg.content || '').slice(0, 80)
      showNotification(other.username || other.id, body, {
        tag: `conv-${msg.conversation_id}`,
        onClick: () => engine.value && engine.value.open(msg.conversation_id),
      })
    }
  }

  function init(translate) {
    if (translate) t = translate
    const session = useSessionStore()
    const api = session.getApi()
    teardown()
    baseTitle = document.title || 'livechat'
    const eng = createChatEngine({
      api,
      me: session.user.id,
      meUser: session.user,
      isVisible: pageVisible,
      onIncoming: notifyIncoming,
    })
    engine.value = markRaw(eng)
    notifyEnabled.value = localStorage.getItem('livechat.notify') === 'on' && notificationPermission() === 'granted'

    socket = new ReconnectingSocket({
      url: () => wsUrl(session),
      backoff: createBackoff({ base: 500, max: 30000 }),
      onOpen: () => {
        everOpened.value = true
        // Cursors first, before any pushed event of this socket is handled.
        const cursors = eng.snapshotCursors()
        eng.catchUp(cursors).catch(() => {})
      },
      onEvent: (evt) => eng.handleEvent(evt),
      onState: (s, sock) => {
        connection.value = s
        nextRetryAt.value = sock.nextRetryAt
      },
      onFatal: async (code) => {
        if (code === 4401) {
          if (await session.refresh()) socket && socket.start()
        } else if (code === 4403) {
          const gone = await session.checkForbidden()
          if (!gone && socket) socket.scheduleRetry()
        }
      },
    })
    typingSender = createTypingSender((frame) => socket && socket.send(frame))

    const onVisible = () => {
      eng.markReadIfVisible()
      if (document.visibilityState === 'visible' && socket && socket.state === 'waiting') socket.reconnectNow()
    }
    const onOnline = () => socket && socket.reconnectNow()
    const onOffline = () => socket && socket.forceClose()
    document.addEventListener('visibilitychange', onVisible)
    window.addEventListener('focus', onVisible)
    window.addEventListener('online', onOnline)
    window.addEventListener('offline', onOffline)
    cleanup.push(() => {
      document.removeEventListener('visibilitychange', onVisible)
      window.removeEventListener('focus', onVisible)
      window.removeEventListener('online', onOnline)
      window.removeEventListener('offline', onOffline)
    })
    const offToken = session.onTokenChange(() => {
      // A refreshed token: reconnect with it.
      if (socket && socket.state !== 'open') socket.reconnectNow()
    })
    cleanup.push(offToken)

    const stopTitle = watch(
      totalUnread,
      (n) => {
        document.title = n > 0 ? `(${n > 99 ? '99+' : n}) ${baseTitle}` : baseTitle
      },
      { immediate: true },
    )
    cleanup.push(stopTitle)

    // Test and debugging hooks.
    window.__livechat = {
      dropSocket: (opts) => socket && socket.drop(opts),
      resumeSocket: () => socket && socket.resume(),
      socketState: () => (socket ? socket.state : 'none'),
      state: () => eng.state,
    }

    eng.loadConversations().catch(() => {})
    eng.loadQuickReplies().catch(() => {})
    socket.start()
    return eng
  }

  function sendTyping(convId) {
    if (typingSender) typingSender.typing(convId)
  }

  function stopTyping(convId) {
    if (typingSender) typingSender.stop(convId)
  }

  function reconnectNow() {
    if (socket) socket.reconnectNow()
  }

  function setNotify(on) {
    notifyEnabled.value = on
    localStorage.setItem('livechat.notify', on ? 'on' : 'off')
    if (on && localStorage.getItem('livechat.sound') !== 'off') setSound(true)
  }

  function setSound(on) {
    soundEnabled.value = on
    localStorage.setItem('livechat.sound', on ? 'on' : 'off')
  }

  function teardown() {
    for (const fn of cleanup) fn()
    cleanup = []
    if (socket) socket.stop()
    socket = null
    if (typingSender) typingSender.dispose()
    typingSender = null
    if (engine.value) engine.value.dispose()
    engine.value = null
    document.title = baseTitle
  }

  const unreadOf = (c) => (engine.value ? myUnread(c, engine.value.state.me) : 0)

  return {
    engine,
    state,
    connection,
    everOpened,
    nextRetryAt,
    notifyEnabled,
    soundEnabled,
    totalUnread,
    init,
    teardown,
    sendTyping,
    stopTyping,
    reconnectNow,
    setNotify,
    setSound,
    unreadOf,
  }
})
