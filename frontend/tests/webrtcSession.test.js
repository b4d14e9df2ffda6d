// The peer connection's session with a fake RTCPeerConnection: offer and
// answer, trickled candidates held until the remote description, the
// connection line, and failure.
import { describe, it, expect, vi } from 'vitest'
import { createPeerSession, normalizeIceServers, mediaErrorKey, mediaConstraints, connectionLabel } from '../src/utils/webrtc'

class FakePC {
  constructor(config) {
    this.config = config
    this.tracks = []
    this.added = []
    this.remoteDescription = null
    this.localDescription = null
    this.connectionState = 'new'
    this.iceConnectionState = 'new'
    this.close = vi.fn()
  }
  addTrack(track, stream) {
    this.tracks.push([track, stream])
  }
  async createOffer() {
    return { type: 'offer', sdp: 'offer-sdp' }
  }
  async createAnswer() {
    return { type: 'answer', sdp: 'answer-sdp' }
  }
  async setLocalDescription(d) {
    this.localDescription = d
  }
  async setRemoteDescription(d) {
    await Promise.resolve()
    this.remoteDescription = d
  }
  async addIceCandidate(c) {
    this.added.push(c)
  }
  set(cs, ice = cs) {
    this.connectionState = cs
    this.iceConnectionState = ice
    this.onconnectionstatechange?.()
  }
}

function session(role, extra = {}) {
  let pc
  const sent = []
  const handlers = { onState: vi.fn(), onConnected: vi.fn(), onRemote: vi.fn(), onFailed: vi.fn() }
  const stream = { getTracks: () => ['a', 'v'] }
  const s = createPeerSession({
    role,
    stream,
    iceServers: [{ urls: 'stun:x' }],
    sendSignal: (sig) => sent.push(sig),
    createPeer: (config) => (pc = new FakePC(config)),
    ...handlers,
    ...extra,
  })
  return { s, pc, sent, ...handlers, stream }
}

describe('the peer session', () => {
  it('sends the local tracks and the caller’s offer; applies the answer and held candidates', async () => {
    const { s, pc, sent } = session('caller')
    expect(pc.config).toEqual({ iceServers: [{ urls: 'stun:x' }] })
    expect(pc.tracks.map(([t]) => t)).toEqual(['a', 'v'])
    await s.offer()
    expect(sent).toEqual([{ type: 'offer', sdp: 'offer-sdp' }])
    pc.onicecandidate({ candidate: { toJSON: () => ({ candidate: 'c1', sdpMid: '0' }) } })
    pc.onicecandidate({ candidate: null }) // end of candidates: nothing sent
    expect(sent.at(-1)).toEqual({ type: 'candidate', candidate: { candidate: 'c1', sdpMid: '0' } })
    // A candidate that overtakes the answer waits for it.
    s.handle({ type: 'candidate', candidate: { candidate: 'r0' } })
    await s.handle({ type: 'answer', sdp: 'answer-sdp' })
    expect(pc.remoteDescription).toEqual({ type: 'answer', sdp: 'answer-sdp' })
    expect(pc.added).toEqual([{ candidate: 'r0' }])
    await s.handle({ type: 'candidate', candidate: { candidate: 'r1' } })
    expect(pc.added).toEqual([{ candidate: 'r0' }, { candidate: 'r1' }])
  })

  it('answers the callee’s offer', async () => {
    const { s, pc, sent } = session('callee')
    s.handle({ type: 'candidate', candidate: { candidate: 'early' } })
    await s.handle({ type: 'offer', sdp: 'offer-sdp' })
    expect(pc.remoteDescription).toEqual({ type: 'offer', sdp: 'offer-sdp' })
    expect(pc.localDescription).toEqual({ type: 'answer', sdp: 'answer-sdp' })
    expect(sent).toEqual([{ type: 'answer', sdp: 'answer-sdp' }])
    expect(pc.added).toEqual([{ candidate: 'early' }])
    await s.handle({ type: 'answer', sdp: 'x' }) // not for a callee
    expect(pc.remoteDescription.type).toBe('offer')
  })

  it('says how the connection is, and fails once', () => {
    const { pc, onState, onConnected, onFailed } = session('caller')
    pc.set('connecting')
    expect(onState).toHaveBeenLastCalledWith('connecting')
    pc.set('connected')
    expect(onState).toHaveBeenLastCalledWith('connected')
    expect(onConnected).toHaveBeenCalledTimes(1)
    pc.set('disconnected')
    expect(onState).toHaveBeenLastCalledWith('reconnecting')
    pc.set('connected')
    expect(onConnected).toHaveBeenCalledTimes(1)
    pc.set('disconnected', 'failed')
    pc.oniceconnectionstatechange()
    expect(onState).toHaveBeenLastCalledWith('failed')
    expect(onFailed).toHaveBeenCalledTimes(1)
  })

  it('fails when negotiation throws, and stays quiet once closed', async () => {
    const { s, pc, onFailed, sent } = session('callee')
    pc.setRemoteDescription = async () => {
      throw new Error('bad sdp')
    }
    await s.handle({ type: 'offer', sdp: 'garbage' })
    expect(onFailed).toHaveBeenCalledTimes(1)
    s.close()
    expect(pc.close).toHaveBeenCalledTimes(1)
    expect(pc.onicecandidate).toBe(null)
    await s.handle({ type: 'offer', sdp: 'again' })
    expect(sent).toEqual([])
  })

  it('hands over the remote stream', () => {
    const { pc, onRemote } = session('caller')
    const remote = { id: 'r' }
    pc.ontrack({ streams: [remote], track: {} })
    pc.ontrack({ streams: [remote], track: {} })
    expect(onRemote).toHaveBeenCalledTimes(1)
    expect(onRemote).toHaveBeenCalledWith(remote)
  })
})

describe('WebRTC helpers', () => {
  it('keeps the usable ICE servers of the server’s answer', () => {
    expect(
      normalizeIceServers({
        ice_servers: [{ urls: 'stun:s:3478' }, { urls: ['turn:t:3478'], username: '1:b1', credential: 'c' }, { nope: 1 }, null],
        ttl_secs: 86400,
      }),
    ).toEqual([{ urls: 'stun:s:3478' }, { urls: ['turn:t:3478'], username: '1:b1', credential: 'c' }])
    expect(normalizeIceServers({ ice_servers: [] })).toEqual([])
    expect(normalizeIceServers(null)).toEqual([])
  })

  it('names the browser’s device errors', () => {
    expect(mediaErrorKey({ name: 'NotAllowedError' })).toBe('denied')
    expect(mediaErrorKey({ name: 'NotFoundError' })).toBe('noDevice')
    expect(mediaErrorKey({ name: 'NotReadableError' })).toBe('busy')
    expect(mediaErrorKey({ name: 'NotSupportedError' })).toBe('unsupported')
    expect(mediaErrorKey(new Error('?'))).toBe('failed')
  })

  it('asks for the camera only for a video call', () => {
    expect(mediaConstraints('audio')).toEqual({ audio: true, video: false })
    expect(mediaConstraints('video').video).toBeTruthy()
  })

  it('labels the connection states', () => {
    expect(connectionLabel('new', false)).toBe('connecting')
    expect(connectionLabel('completed', false)).toBe('connected')
    expect(connectionLabel('disconnected', false)).toBe('connecting')
    expect(connectionLabel('disconnected', true)).toBe('reconnecting')
    expect(connectionLabel('failed', true)).toBe('failed')
  })
})
