// How calls read in the chat: the record of an ended call in the message
// list ("视频通话 02:15", "未接听", …), the conversation list's preview of a
// call record, and the notice a party gets when a call ends. Pure
// functions; `t` is vue-i18n's translate function.
import { pad2 } from './format'
import { myUnread } from '../realtime/reducers'
import { CALL_PREVIEW_TAGS } from '../realtime/previews'

export { CALL_PREVIEW_TAGS }

export const OUTCOMES = ['completed', 'missed', 'cancelled', 'declined', 'busy', 'failed']

/** A call's length: "00:05", "02:15", "1:02:15". */
export function callDuration(ms) {
  const s = Math.max(0, Math.floor((Number(ms) || 0) / 1000))
  const h = Math.floor(s / 3600)
  const mm = pad2(Math.floor((s % 3600) / 60))
  const ss = pad2(s % 60)
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`
}

export const mediaOf = (call) => (call?.media === 'video' ? 'video' : 'audio')

/**
 * What a call record shows: `{ media, outcome, tone, text }`, `tone` being
 * 'missed' for a call that did not get through to its end (missed,
 * failed), 'muted' for one that was not taken (cancelled, declined, busy)
 * and 'normal' for a completed one.
 */
export function callRecord(call, t) {
  const media = mediaOf(call)
  const outcome = OUTCOMES.includes(call?.outcome) ? call.outcome : null
  let text
  if (outcome === 'completed') text = `${t(`call.media.${media}`)} ${callDuration(call.duration_ms)}`
  else if (outcome) text = t(`call.record.${outcome}`)
  else text = t(`call.media.${media}`)
  const tone = outcome === 'missed' || outcome === 'failed' ? 'missed' : outcome && outcome !== 'completed' ? 'muted' : 'normal'
  return { media, outcome, tone, text }
}

/** The media a conversation's last message (a call record) was, from its preview tag. */
export function previewMedia(conv) {
  return conv?.last_message === CALL_PREVIEW_TAGS.video ? 'video' : 'audio'
}

/**
 * Whether a conversation's preview should show a missed call: its last
 * message is a call record the viewer has not read and, when the record is
 * known (`known`: the call object of that last message, when it was seen),
 * a missed call of which the viewer was the callee. The unread count alone
 * says as much in most cases: of call records only a missed call counts as
 * unread, and only for the callee.
 */
export function isMissedPreview(conv, me, known = null) {
  if (!conv || conv.last_message_type !== 'call') return false
  if (myUnread(conv, me) <= 0) return false
  return known ? known.outcome === 'missed' && known.callee_id === me : true
}

/** The conversation list's text for a last message that is a call record. */
export function callListPreview(conv, me, t, known = null) {
  const media = known ? mediaOf(known) : previewMedia(conv)
  if (isMissedPreview(conv, me, known)) return t(`call.preview.missed.${media}`)
  return t(`call.preview.${media}`)
}

/**
 * The notice for a call that ended without the viewer ending it, as the
 * i18n key under `call.notice`, or null when nothing needs saying.
 */
export function endNoticeKey(call, me) {
  const outcome = call?.outcome
  if (!OUTCOMES.includes(outcome)) return null
  const role = call.caller_id === me ? 'caller' : 'callee'
  return `call.notice.${role}.${outcome}`
}
