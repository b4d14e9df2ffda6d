// Pinia store for the chat page: composes the threads (conversations and
// messages), the outbox (sending) and the quick replies, and wires them to
// the real-time connector, page visibility, document title and notifications.
import { defineStore } from 'pinia'
import { ref, shallowRef, computed, markRaw, watch } from 'vue'
import { createThreads } from './chat/threads'
import { createOutbox } from './chat/outbox'
import { createQuickReplies } from './chat/quickReplies'
import { whenIdle } from '../utils/idle'
import { RealtimeConnector, socketProtocols } from '../realtime/connector'
import { createBackoff } from '../realtime/backoff'
import { onSocketOpen } from '../realtime/catchUp'
import { conversationName, isGroup, memberName } from '../realtime/reducers'
import { localPreview } from '../realtime/previews'
import { createTypingSender } from '../utils/typing'
import { showNotification, playDing, notificationPermission } from '../utils/notify'
import { useSessionStore } from './session'
import { useServerConfigStore } from './serverConfig'
import { useCallStore } from './call'
import { combineEvents } from '../realtime/calls'

/** The chat's reconnect delays: 0.5 s doubling to 30 s, each drawn from its upper half. */
export const CHAT_BACKOFF = { base: 500, max: 30000 }

function pageVisible() {
  return document.visibilityState === 'visible' && document.hasFocus()
}

export const useChatStore = defineStore('chat', () => {
  const threads = shallowRef(null)
  const outbox = shallowRef(null)
  const quickReplies = shallowRef(null)
  const connection = ref('idle')
  const everOpened = ref(false)
  const nextRetryAt = ref(0)
  const notifyEnabled = ref(false)
  // Sound, like notifications, only once the user has asked for it.
  const soundEnabled = ref(localStorage.getItem('livechat.sound') === 'on')
  let connector = null
  let typingSender = null
  let cleanup = []
  let baseTitle = document.title || 'livechat'
  let t = (k) => k

  const state = computed(() => threads.value?.state || null)
  const totalUnread = computed(() => (threads.value ? threads.value.total() : 0))

  function wsUrl(session) {
    const proto = location.protocol === 'https:' ? 'wss' : 'ws'
    return `${proto}://${location.host}/ws/${encodeURIComponent(session.user.id)}`
  }

  function notifyIncoming(msg, conv, { viewing }) {
    const hidden = document.visibilityState !== 'visible' || !document.hasFocus()
    if (viewing && !hidden) return
    if (!hidden) return // the list badge is enough while the page is in front
    if (soundEnabled.value) playDing()
    if (notifyEnabled.value && notificationPermission() === 'granted') {
      const me = threads.value.state.me
      const sender = msg.sender?.username || (conv ? memberName(conv, msg.sender_id) : msg.sender_id)
      const title = conv ? conversationName(conv, me) : sender
      const body = localPreview(msg, t, 80)
      showNotification(title, conv && isGroup(conv) ? `${sender}: ${body}` : body, {
        tag: `conv-${msg.conversation_id}`,
        onClick: () => threads.value && threads.value.open(msg.conversation_id),
      })
    }
  }

  function init(translate) {
    if (translate) t = translate
    const session = useSessionStore()
    const config = useServerConfigStore()
    const api = session.getApi()
    teardown()
    baseTitle = document.title || 'livechat'
    const me = session.user.id
    const th = createThreads({ api, me, isVisible: pageVisible, onIncoming: notifyIncoming })
    threads.value = markRaw(th)
    outbox.value = markRaw(createOutbox({ api, threads: th, me, meUser: session.user, limits: () => config.limits }))
    quickReplies.value = markRaw(createQuickReplies({ api, me }))
    notifyEnabled.value = localStorage.getItem('livechat.notify') === 'on' && notificationPermission() === 'granted'

    const call = useCallStore()
    const callEvents = call.attach({
      me,
      role: session.user.role,
      api,
      send: (frame) => !!connector && connector.send(frame),
      barrier: () => (connector ? connector.barrier() : Promise.reject(new Error('no socket'))),
    })
    connector = new RealtimeConnector({
      url: () => wsUrl(session),
      protocols: () => socketProtocols(session.token),
      resumeFrom: () => th.highestHeld(),
      events: combineEvents(th.events, callEvents),
      backoff: createBackoff(CHAT_BACKOFF),
      catchUp: (reconnected, conn, { resumed = false } = {}) => {
        everOpened.value = true
        // Cursors first, before any pushed event of this socket is handled.
        const cursors = th.snapshotCursors()
        onSocketOpen(conn, { resumed, cursors, fullCatchUp: th.catchUp, afterResume: th.afterResume })
          .catch(() => {})
          // Then what waited for the network, in order.
          .then(() => outbox.value && outbox.value.flush())
          .catch(() => {})
      },
      onState: (s, conn) => {
        connection.value = s
        nextRetryAt.value = conn.nextRetryAt
        call.setConnected(s === 'open')
      },
      onFatal: async (code) => {
        if (code === 4401) {
          if (await session.refresh()) connector && connector.start()
        } else if (code === 4403) {
          const gone = await session.checkForbidden()
          if (!gone && connector) connector.scheduleRetry()
        }
      },
    })
    typingSender = createTypingSender((frame) => connector && connector.send(frame))

    const onVisible = () => {
      th.markReadIfVisible()
      if (document.visibilityState === 'visible' && connector && connector.state === 'waiting') connector.reconnectNow()
    }
    const onOnline = () => connector && connector.reconnectNow()
    const onOffline = () => connector && connector.forceClose()
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
      if (connector && connector.state !== 'open') connector.reconnectNow()
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
      dropSocket: (opts) => connector && connector.drop(opts),
      resumeSocket: () => connector && connector.resume(),
      socketState: () => (connector ? connector.state : 'none'),
      barrier: () => (connector ? connector.barrier() : Promise.reject(new Error('no socket'))),
      state: () => th.state,
      call: call.testHooks(),
      queued: () => (outbox.value ? outbox.value.queued().length : 0),
    }

    // Messages an earlier page could not send wait in the queue again.
    outbox.value.restore()
    th.loadConversations().catch(() => {})
    connector.start()
    // Quick replies are for the composer's panel: fetched once the page is idle.
    const replies = quickReplies.value
    whenIdle(() => replies.load().catch(() => {}))
    return th
  }

  function sendTyping(convId) {
    if (typingSender) typingSender.typing(convId)
  }

  function stopTyping(convId) {
    if (typingSender) typingSender.stop(convId)
  }

  function reconnectNow() {
    if (connector) connector.reconnectNow()
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
    if (connector) connector.stop()
    connector = null
    useCallStore().detach()
    if (typingSender) typingSender.dispose()
    typingSender = null
    if (threads.value) threads.value.dispose()
    threads.value = null
    outbox.value = null
    quickReplies.value = null
    document.title = baseTitle
  }

  return {
    threads,
    outbox,
    quickReplies,
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
  }
})
