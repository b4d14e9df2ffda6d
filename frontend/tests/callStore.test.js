// The call store's state handling on the chat's connector, with a fake
// server socket and a fake WebRTC: which socket is "mine", ringing,
// answered elsewhere, refused frames, ended calls and one call at a time.
import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest'
import { setActivePinia, createPinia } from 'pinia'
import { useCallStore } from '../src/stores/call'
import { RealtimeConnector } from '../src/realtime/connector'
import { combineEvents } from '../src/realtime/calls'
import { mediaErrorKey } from '../src/utils/webrtc'

const CONV = { id: 7, kind: 'direct', customer_id: 'b1', merchant_id: 'm1' }
const ID = '8d1f3c2e-6a4b-4c1d-9e2f-0a1b2c3d4e5f'
const ID2 = '0b7e9c1a-2f3d-4e5f-8a9b-1c2d3e4f5a6b'

const call = (extra = {}) => ({
  call_id: ID,
  conversation_id: 7,
  caller_id: 'b1',
  callee_id: 'm1',
  media: 'video',
  state: 'ringing',
  outcome: null,
  created_at: 1000,
  answered_at: null,
  ended_at: null,
  duration_ms: null,
  ...extra,
})
const active = (extra = {}) => call({ state: 'active', answered_at: Date.now(), ...extra })
const ended = (outcome, extra = {}) => call({ state: 'ended', outcome, ended_at: Date.now(), ...extra })

// The server's end of one socket: it records what the client sends, can
// answer a frame at once (`reply`: as the server answers an error frame
// before reading the next frame), and answers a ping behind it all.
class FakeWS {
  static last = null
  constructor(url) {
    this.url = url
    this.sent = []
    this.reply = {}
    FakeWS.last = this
  }
  send(data) {
    const frame = JSON.parse(data)
    if (frame.type === 'ping') return this.deliver({ type: 'pong' })
    this.sent.push(frame)
    for (const evt of this.reply[frame.type] || []) this.deliver(typeof evt === 'function' ? evt(frame) : evt)
  }
  close(code = 1000) {
    this.onclose?.({ code })
  }
  open() {
    this.onopen?.()
  }
  deliver(obj) {
    this.onmessage?.({ data: JSON.stringify(obj) })
  }
  frames(type) {
    return this.sent.filter((f) => f.type === type)
  }
}

function track(kind) {
  return { kind, enabled: true, stop: vi.fn() }
}

function fakeStream(media) {
  const tracks = [track('audio'), ...(media === 'video' ? [track('video')] : [])]
  return {
    tracks,
    getTracks: () => tracks,
    getAudioTracks: () => tracks.filter((t) => t.kind === 'audio'),
    getVideoTracks: () => tracks.filter((t) => t.kind === 'video'),
  }
}

function fakeRtc() {
  const rtc = {
    sessions: [],
    streams: [],
    deviceError: null,
    gate: null, // a promise getUserMedia waits for
    iceServers: vi.fn(async () => [{ urls: 'stun:127.0.0.1:3478' }]),
    getUserMedia: vi.fn(async (media) => {
      if (rtc.gate) await rtc.gate
      if (rtc.deviceError) throw Object.assign(new Error('refused'), { name: rtc.deviceError })
      const s = fakeStream(media)
      rtc.streams.push(s)
      return s
    }),
    createSession: vi.fn((options) => {
      const s = { options, pc: { id: rtc.sessions.length + 1 }, offer: vi.fn(), handle: vi.fn(), close: vi.fn() }
      rtc.sessions.push(s)
      return s
    }),
    mediaErrorKey,
  }
  return rtc
}

const flush = () => new Promise((r) => setTimeout(r, 0))

describe('the call store', () => {
  let store
  let connector
  let ws
  let rtc

  function connect(me, role = 'merchant') {
    setActivePinia(createPinia())
    store = useCallStore()
    rtc = fakeRtc()
    const events = store.attach({
      me,
      role,
      send: (f) => connector.send(f),
      barrier: () => connector.barrier(),
      rtc,
    })
    connector = new RealtimeConnector({
      url: 'ws://test/ws',
      WebSocketImpl: FakeWS,
      events: combineEvents({}, events),
      onState: (s) => store.setConnected(s === 'open'),
      pingInterval: 1e9,
    })
    connector.start()
    ws = FakeWS.last
    ws.open()
  }

  const phase = () => store.state.phase

  beforeEach(() => {
    vi.stubGlobal('crypto', { randomUUID: () => ID })
  })
  afterEach(() => {
    connector?.stop()
    store?.detach()
    vi.unstubAllGlobals()
  })

  describe('as the caller', () => {
    beforeEach(() => {
      connect('b1', 'buyer')
      // As the server does: call.ringing acknowledges an invite.
      ws.reply['call.invite'] = [(f) => ({ type: 'call.ringing', call: call({ call_id: f.call_id, media: f.media }) })]
    })

    it('opens the devices, invites, rings, and makes the offer once accepted', async () => {
      expect(store.availability(CONV)).toEqual({ show: true, reason: null })
      const started = await store.start(CONV, 'video')
      expect(started).toEqual({ ok: true, callId: ID })
      expect(rtc.getUserMedia).toHaveBeenCalledWith('video')
      expect(rtc.iceServers).toHaveBeenCalled()
      expect(ws.frames('call.invite')).toEqual([{ type: 'call.invite', call_id: ID, conversation_id: 7, media: 'video' }])
      expect(phase()).toBe('outgoing')
      expect(store.availability(CONV).reason).toBe('busy')
      await flush()
      expect(phase()).toBe('outgoing') // acknowledged before the barrier
      expect(rtc.sessions).toHaveLength(0) // no peer connection before the answer

      ws.deliver({ type: 'call.accepted', call: active() })
      expect(phase()).toBe('active')
      expect(rtc.sessions).toHaveLength(1)
      const session = rtc.sessions[0]
      expect(session.options.role).toBe('caller')
      expect(session.options.iceServers).toEqual([{ urls: 'stun:127.0.0.1:3478' }])
      expect(session.offer).toHaveBeenCalledTimes(1)
      expect(store.engine.peer()).toBe(session.pc)

      // Signals: out through call.signal, in to the session (this call only).
      session.options.sendSignal({ type: 'offer', sdp: 'v=0' })
      expect(ws.frames('call.signal')).toEqual([{ type: 'call.signal', call_id: ID, signal: { type: 'offer', sdp: 'v=0' } }])
      ws.deliver({ type: 'call.signal', call_id: ID2, from: 'm1', signal: { type: 'answer', sdp: 'x' } })
      ws.deliver({ type: 'call.signal', call_id: ID, from: 'm1', signal: { type: 'answer', sdp: 'v=0 a' } })
      expect(session.handle.mock.calls).toEqual([[{ type: 'answer', sdp: 'v=0 a' }]])
      session.options.onState('connected')
      expect(store.state.connection).toBe('connected')

      expect(store.hangup()).toBe(true)
      expect(ws.frames('call.hangup')).toEqual([{ type: 'call.hangup', call_id: ID }])
      expect(phase()).toBe('idle')
      expect(session.close).toHaveBeenCalled()
      expect(rtc.streams[0].tracks.every((t) => t.stop.mock.calls.length === 1)).toBe(true)
      expect(store.engine.peer()).toBe(null)
      // The server's call.ended for a call this tab ended says nothing more.
      store.notice = null
      ws.deliver({ type: 'call.ended', call: ended('completed', { duration_ms: 5000 }) })
      expect(store.notice).toBe(null)
      expect(store.availability(CONV)).toEqual({ show: true, reason: null })
    })

    it('is told how the call ended: declined, busy, missed', async () => {
      for (const outcome of ['declined', 'busy', 'missed']) {
        await store.start(CONV, 'audio')
        expect(phase()).toBe('outgoing')
        ws.deliver({ type: 'call.ended', call: ended(outcome, { media: 'audio' }) })
        expect(phase()).toBe('idle')
        expect(store.notice.key).toBe(`call.notice.caller.${outcome}`)
      }
    })

    it('cancels a call that still rings', async () => {
      await store.start(CONV, 'video')
      store.hangup()
      expect(ws.frames('call.cancel')).toEqual([{ type: 'call.cancel', call_id: ID }])
      expect(phase()).toBe('idle')
    })

    it('refuses a second call while one is in progress', async () => {
      await store.start(CONV, 'video')
      expect(await store.start(CONV, 'audio')).toEqual({ ok: false, reason: 'busy' })
      expect(ws.frames('call.invite')).toHaveLength(1)
    })

    it('ends an invite the server refused (an error frame before the barrier)', async () => {
      ws.reply['call.invite'] = [{ type: 'error', detail: 'you are in a call already; end it first' }]
      await store.start(CONV, 'video')
      await flush()
      expect(phase()).toBe('idle')
      expect(store.notice.key).toBe('call.notice.refused')
      expect(rtc.streams[0].tracks[0].stop).toHaveBeenCalled()
    })

    it('invites nobody when the devices are refused or missing', async () => {
      for (const [name, key] of [
        ['NotAllowedError', 'denied'],
        ['NotFoundError', 'noDevice'],
      ]) {
        rtc.deviceError = name
        expect(await store.start(CONV, 'video')).toEqual({ ok: false, reason: key })
        expect(phase()).toBe('idle')
        expect(store.notice).toMatchObject({ key: `call.notice.media.${key}`, params: { media: 'video' } })
      }
      expect(ws.frames('call.invite')).toHaveLength(0)
    })

    it('hung up while the devices open: nothing is sent and the devices are released', async () => {
      let open
      rtc.gate = new Promise((r) => (open = r))
      const started = store.start(CONV, 'video')
      expect(phase()).toBe('preparing')
      store.hangup()
      open()
      expect(await started).toEqual({ ok: false, reason: 'cancelled' })
      expect(ws.sent).toEqual([])
      expect(rtc.streams[0].tracks.every((t) => t.stop.mock.calls.length === 1)).toBe(true)
    })

    it('hangs up with reason "failed" when the peer connection fails', async () => {
      await store.start(CONV, 'video')
      ws.deliver({ type: 'call.accepted', call: active() })
      rtc.sessions[0].options.onFailed()
      expect(ws.frames('call.hangup')).toEqual([{ type: 'call.hangup', call_id: ID, reason: 'failed' }])
      expect(phase()).toBe('idle')
      expect(store.notice.key).toBe('call.notice.self.failed')
    })

    it('mutes and turns the camera off on its tracks, and tells the peer', async () => {
      await store.start(CONV, 'video')
      ws.deliver({ type: 'call.accepted', call: active() })
      const [audio, video] = rtc.streams[0].tracks
      store.toggleMute()
      store.toggleCamera()
      expect([audio.enabled, video.enabled]).toEqual([false, false])
      expect(ws.frames('call.signal').at(-1).signal).toEqual({ type: 'media', muted: true, cameraOff: true })
      ws.deliver({ type: 'call.signal', call_id: ID, from: 'm1', signal: { type: 'media', muted: true, cameraOff: false } })
      expect([store.state.remoteMuted, store.state.remoteCameraOff]).toEqual([true, false])
      expect(rtc.sessions[0].handle).not.toHaveBeenCalled()
    })

    it('ends the call when the socket goes down', async () => {
      await store.start(CONV, 'video')
      ws.deliver({ type: 'call.accepted', call: active() })
      connector.drop({ hold: true })
      expect(phase()).toBe('idle')
      expect(store.notice.key).toBe('call.notice.connectionLost')
      expect(store.availability(CONV).reason).toBe('offline')
    })

    it('a call placed from another tab disables the buttons until it ends', () => {
      ws.deliver({ type: 'call.ringing', call: call({ call_id: ID2 }) })
      expect(phase()).toBe('idle')
      expect(store.state.elsewhere.call_id).toBe(ID2)
      expect(store.availability(CONV).reason).toBe('busy')
      // This tab is not the inviting socket: it takes no part.
      ws.deliver({ type: 'call.accepted', call: active({ call_id: ID2 }) })
      expect(phase()).toBe('idle')
      expect(rtc.sessions).toHaveLength(0)
      ws.deliver({ type: 'call.ended', call: ended('completed', { call_id: ID2 }) })
      expect(store.state.elsewhere).toBe(null)
      expect(store.availability(CONV).reason).toBe(null)
    })
  })

  describe('as the callee', () => {
    beforeEach(() => connect('m1'))

    it('rings, accepts from this socket and answers the offer', async () => {
      ws.deliver({ type: 'call.ringing', call: call() })
      expect(phase()).toBe('incoming')
      expect(store.state.peerId).toBe('b1')
      expect(store.state.media).toBe('video')
      expect(store.availability(CONV).reason).toBe('busy')

      ws.reply['call.accept'] = [{ type: 'call.accepted', call: active() }]
      expect(await store.accept()).toBe(true)
      expect(rtc.getUserMedia).toHaveBeenCalledWith('video')
      expect(ws.frames('call.accept')).toEqual([{ type: 'call.accept', call_id: ID }])
      expect(phase()).toBe('active')
      const session = rtc.sessions[0]
      expect(session.options.role).toBe('callee')
      expect(session.offer).not.toHaveBeenCalled()
      await flush()
      expect(phase()).toBe('active') // no error before the barrier: the call is this socket's

      ws.deliver({ type: 'call.signal', call_id: ID, from: 'b1', signal: { type: 'offer', sdp: 'v=0' } })
      expect(session.handle).toHaveBeenCalledWith({ type: 'offer', sdp: 'v=0' })

      ws.deliver({ type: 'call.ended', call: ended('completed', { duration_ms: 3000 }) })
      expect(phase()).toBe('idle')
      expect(store.notice.key).toBe('call.notice.callee.completed')
      expect(session.close).toHaveBeenCalled()
    })

    it('declines', () => {
      ws.deliver({ type: 'call.ringing', call: call() })
      expect(store.decline()).toBe(true)
      expect(ws.frames('call.decline')).toEqual([{ type: 'call.decline', call_id: ID }])
      expect(phase()).toBe('idle')
    })

    it('stops ringing when another tab answers', () => {
      ws.deliver({ type: 'call.ringing', call: call() })
      ws.deliver({ type: 'call.accepted', call: active() })
      expect(phase()).toBe('idle')
      expect(store.state.elsewhere.call_id).toBe(ID)
      expect(store.notice.key).toBe('call.notice.answeredElsewhere')
      expect(rtc.sessions).toHaveLength(0)
      expect(store.availability(CONV).reason).toBe('busy')
      ws.deliver({ type: 'call.ended', call: ended('completed') })
      expect(store.state.elsewhere).toBe(null)
      expect(store.notice.key).toBe('call.notice.answeredElsewhere') // no notice for a call of another tab
    })

    it('gives up an accept the server refused: another tab was first', async () => {
      ws.deliver({ type: 'call.ringing', call: call() })
      // The other tab's accept was served first: call.accepted reaches this
      // tab, then the error answering its own accept, then the pong.
      ws.reply['call.accept'] = [{ type: 'call.accepted', call: active() }, { type: 'error', detail: 'the call is no longer ringing' }]
      await store.accept()
      await flush()
      expect(phase()).toBe('idle')
      expect(store.state.elsewhere.call_id).toBe(ID)
      expect(rtc.sessions[0].close).toHaveBeenCalled()
      expect(store.notice.key).toBe('call.notice.answeredElsewhere')
    })

    it('stops ringing when the caller cancels or nobody answers', () => {
      for (const outcome of ['cancelled', 'missed']) {
        ws.deliver({ type: 'call.ringing', call: call() })
        expect(phase()).toBe('incoming')
        ws.deliver({ type: 'call.ended', call: ended(outcome) })
        expect(phase()).toBe('idle')
        expect(store.notice.key).toBe(`call.notice.callee.${outcome}`)
      }
    })

    it('declines when the devices are refused, instead of ringing on', async () => {
      rtc.deviceError = 'NotAllowedError'
      ws.deliver({ type: 'call.ringing', call: call() })
      expect(await store.accept()).toBe(false)
      expect(ws.frames('call.accept')).toHaveLength(0)
      expect(ws.frames('call.decline')).toEqual([{ type: 'call.decline', call_id: ID }])
      expect(phase()).toBe('idle')
      expect(store.notice).toMatchObject({ key: 'call.notice.media.denied', params: { media: 'video' } })
    })

    it('does not ring for a second call while one rings or runs here', () => {
      ws.deliver({ type: 'call.ringing', call: call() })
      ws.deliver({ type: 'call.ringing', call: call({ call_id: ID2, caller_id: 'p1' }) })
      expect(store.state.call.call_id).toBe(ID)
      // The second call's end leaves this one alone.
      ws.deliver({ type: 'call.ended', call: ended('busy', { call_id: ID2, caller_id: 'p1' }) })
      expect(phase()).toBe('incoming')
    })

    it('ignores calls between other people', () => {
      ws.deliver({ type: 'call.ringing', call: call({ caller_id: 'b2', callee_id: 'm2' }) })
      expect(phase()).toBe('idle')
      expect(store.state.elsewhere).toBe(null)
    })

    it('remembers call records pushed live, for the conversation list', () => {
      ws.deliver({ type: 'message', message: { id: 41, conversation_id: 7, message_type: 'call', call: ended('missed') } })
      ws.deliver({ type: 'message', message: { id: 42, conversation_id: 7, message_type: 'text', content: 'hi' } })
      expect(store.knownCall(41).outcome).toBe('missed')
      expect(store.knownCall(42)).toBe(null)
    })
  })

  it('offers calls in direct conversations only, never to admins, and not while offline', () => {
    connect('m1')
    expect(store.availability({ id: 1, kind: 'group' }).show).toBe(false)
    expect(store.availability({ id: 1 }).show).toBe(true) // older data has no kind
    connector.drop({ hold: true })
    expect(store.availability(CONV)).toEqual({ show: true, reason: 'offline' })
    connect('a1', 'admin')
    expect(store.availability(CONV).show).toBe(false)
  })
})
