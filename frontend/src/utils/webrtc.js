// The browser's side of a call: ICE servers from the server, the local
// camera and microphone, and the peer connection. Loaded only when a call
// starts (the call store imports it on demand).

/**
 * The ICE servers `GET /api/calls/ice-servers` answers, as
 * RTCConfiguration wants them; an empty list when none are configured (or
 * the answer is unusable: peers on one network need none).
 */
export function normalizeIceServers(body) {
  const list = Array.isArray(body?.ice_servers) ? body.ice_servers : []
  return list
    .filter((s) => s && (typeof s.urls === 'string' || Array.isArray(s.urls)))
    .map((s) => {
      const out = { urls: s.urls }
      if (s.username != null) out.username = s.username
      if (s.credential != null) out.credential = s.credential
      return out
    })
}

/** Fetches the ICE servers with the chat's API client (`api.http`). */
export async function fetchIceServers(api) {
  const res = await api.http.get('/calls/ice-servers')
  return normalizeIceServers(res.data)
}

/** What a call of `media` asks of the devices. */
export function mediaConstraints(media) {
  return media === 'video'
    ? { audio: true, video: { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: 'user' } }
    : { audio: true, video: false }
}

/**
 * Why the devices could not be had, as a key under `call.notice.media`:
 * `denied` (the user or the browser refused), `noDevice` (no camera or
 * microphone), `busy` (the device is in use elsewhere), `unsupported`
 * (no getUserMedia, e.g. a page not served over https) or `failed`.
 */
export function mediaErrorKey(err) {
  switch (err?.name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return 'denied'
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'noDevice'
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'busy'
    case 'NotSupportedError':
    case 'TypeError':
      return 'unsupported'
    default:
      return 'failed'
  }
}

/** The local stream for a call of `media`; rejects with the browser's error. */
export async function getUserMedia(media) {
  const md = typeof navigator !== 'undefined' ? navigator.mediaDevices : null
  if (!md || typeof md.getUserMedia !== 'function') {
    throw Object.assign(new Error('getUserMedia is not available'), { name: 'NotSupportedError' })
  }
  return md.getUserMedia(mediaConstraints(media))
}

/** What a connection line shows for a peer connection's state. */
export function connectionLabel(pcState, everConnected) {
  if (pcState === 'connected' || pcState === 'completed') return 'connected'
  if (pcState === 'failed') return 'failed'
  if (pcState === 'disconnected') return everConnected ? 'reconnecting' : 'connecting'
  return 'connecting'
}

const noop = () => {}

/**
 * One call's peer connection: the local tracks sent, the caller's offer
 * (`offer()`), the callee's answer, trickled ICE candidates both ways
 * (held until the remote description is set) and its state as a
 * connection line. Signals go out through `sendSignal` and come in
 * through `handle`, in order: `{type: "offer"|"answer", sdp}` and
 * `{type: "candidate", candidate}`. `onFailed` is called once, when the
 * connection or its ICE transport fails (or negotiation throws).
 */
export function createPeerSession({
  iceServers = [],
  stream = null,
  role,
  sendSignal,
  onState = noop,
  onConnected = noop,
  onRemote = noop,
  onFailed = noop,
  createPeer = (config) => new RTCPeerConnection(config),
}) {
  const pc = createPeer({ iceServers })
  let closed = false
  let failed = false
  let everConnected = false
  let pending = []
  let chain = Promise.resolve()
  let remote = null

  function failOnce() {
    if (closed || failed) return
    failed = true
    onFailed()
  }

  if (stream) for (const track of stream.getTracks()) pc.addTrack(track, stream)

  pc.onicecandidate = (e) => {
    if (closed || !e.candidate) return
    const c = typeof e.candidate.toJSON === 'function' ? e.candidate.toJSON() : e.candidate
    sendSignal({ type: 'candidate', candidate: c })
  }
  pc.ontrack = (e) => {
    if (closed) return
    const s = e.streams && e.streams[0]
    if (s) {
      if (s !== remote) onRemote((remote = s))
    } else if (typeof MediaStream !== 'undefined') {
      if (!remote) remote = new MediaStream()
      remote.addTrack(e.track)
      onRemote(remote)
    }
  }
  const stateChanged = () => {
    if (closed) return
    const cs = pc.connectionState
    const ice = pc.iceConnectionState
    if (cs === 'failed' || ice === 'failed') {
      onState('failed')
      failOnce()
      return
    }
    const shown = cs || ice
    if ((shown === 'connected' || shown === 'completed') && !everConnected) {
      everConnected = true
      onState('connected')
      onConnected()
      return
    }
    onState(connectionLabel(shown, everConnected))
  }
  pc.onconnectionstatechange = stateChanged
  pc.oniceconnectionstatechange = stateChanged

  async function flush() {
    const queued = pending
    pending = []
    for (const c of queued) await pc.addIceCandidate(c).catch(noop)
  }

  async function apply(signal) {
    if (closed || !signal || typeof signal !== 'object') return
    if (signal.type === 'offer' && role === 'callee') {
      await pc.setRemoteDescription({ type: 'offer', sdp: signal.sdp })
      await flush()
      const answer = await pc.createAnswer()
      await pc.setLocalDescription(answer)
      if (!closed) sendSignal({ type: 'answer', sdp: answer.sdp })
    } else if (signal.type === 'answer' && role === 'caller') {
      await pc.setRemoteDescription({ type: 'answer', sdp: signal.sdp })
      await flush()
    } else if (signal.type === 'candidate' && signal.candidate) {
      if (pc.remoteDescription) await pc.addIceCandidate(signal.candidate).catch(noop)
      else pending.push(signal.candidate)
    }
  }

  /** Runs `step` after every earlier one: signals are applied in the order they came. */
  function queue(step) {
    chain = chain.then(() => (closed ? undefined : step())).catch(failOnce)
    return chain
  }

  return {
    pc,
    /** The caller's offer. */
    offer: () =>
      queue(async () => {
        const offer = await pc.createOffer()
        if (closed) return
        await pc.setLocalDescription(offer)
        if (!closed) sendSignal({ type: 'offer', sdp: offer.sdp })
      }),
    handle: (signal) => queue(() => apply(signal)),
    close() {
      if (closed) return
      closed = true
      pc.onicecandidate = null
      pc.ontrack = null
      pc.onconnectionstatechange = null
      pc.oniceconnectionstatechange = null
      try {
        pc.close()
      } catch {
        /* already closed */
      }
    },
  }
}

/** The adapter the call engine uses in a browser. */
export function browserRtc(api) {
  return {
    iceServers: () => fetchIceServers(api),
    getUserMedia,
    createSession: (options) => createPeerSession(options),
    mediaErrorKey,
  }
}

/** The bytes received on inbound RTP streams of `kind` (all kinds when null). */
export async function inboundBytes(pc, kind = null) {
  if (!pc || typeof pc.getStats !== 'function') return 0
  const stats = await pc.getStats()
  let total = 0
  stats.forEach((r) => {
    if (r.type === 'inbound-rtp' && (!kind || r.kind === kind || r.mediaType === kind)) total += r.bytesReceived || 0
  })
  return total
}
