// What a conversation shows of its last message. The server writes these
// tags into `last_message` for media and recalled messages (in Chinese,
// whatever the reader's language); the Chinese UI shows them as they are,
// and other languages translate them under `chat.preview.<type>`.
// A system line (group membership changes) is previewed by its own short
// Chinese text, which other languages replace with a generic tag.
export const PREVIEW_TAGS = Object.freeze({
  image: '[图片]',
  file: '[文件]',
  voice: '[语音]',
  order: '[订单]',
  recalled: '[已撤回]',
})

export const TEXT_PREVIEW_CHARS = 100

/** A call record's preview tag, by the call's media. */
export const CALL_PREVIEW_TAGS = Object.freeze({ audio: '[语音通话]', video: '[视频通话]' })
const callMedia = (m) => (m.call?.media === 'video' ? 'video' : 'audio')

/** The server's preview of a message: a tag for media, calls and recalled ones, else the first 100 characters. */
export function messagePreview(m) {
  if (!m) return ''
  if (m.recalled) return PREVIEW_TAGS.recalled
  if (m.message_type !== 'recalled' && Object.hasOwn(PREVIEW_TAGS, m.message_type)) return PREVIEW_TAGS[m.message_type]
  if (m.message_type === 'call') return CALL_PREVIEW_TAGS[callMedia(m)]
  return String(m.content ?? '').slice(0, TEXT_PREVIEW_CHARS)
}

/** The i18n key that names a preview type (`last_message_type`, or `recalled`), or null for text and system lines. */
export function previewKey(type) {
  return Object.hasOwn(PREVIEW_TAGS, type) ? `chat.preview.${type}` : null
}

/** A message's preview in the reader's language (`t` is vue-i18n's), `max` characters of text. */
export function localPreview(m, t, max = TEXT_PREVIEW_CHARS) {
  if (m?.message_type === 'call' && !m?.recalled) return t(`call.preview.${callMedia(m)}`)
  const key = previewKey(m?.recalled ? 'recalled' : m?.message_type)
  return key ? t(key) : String(m?.content ?? '').slice(0, max)
}

/**
 * A conversation's preview line in the reader's language: tags translated,
 * text as it is, a system line verbatim when `verbatimSystem` (Chinese)
 * or as the generic `chat.preview.system` tag; `chat.list.noMessages`
 * when there is nothing yet.
 */
export function conversationPreview(c, t, { verbatimSystem = true } = {}) {
  const key = previewKey(c?.last_message_type)
  if (key) return t(key)
  if (c?.last_message_type === 'system') return verbatimSystem && c.last_message ? c.last_message : t('chat.preview.system')
  if (!c?.last_message) return t('chat.list.noMessages')
  return c.last_message
}

/** The system events the server writes (`system.event`). */
export const SYSTEM_EVENTS = Object.freeze(['created', 'member_added', 'member_removed', 'member_left', 'mediation_started'])

/**
 * The text of a system line: the server's Chinese `content` when
 * `verbatim` (the Chinese UI) or when the event is unknown, else
 * `chat.system.<event>` with the actor's and the user's names
 * (`nameOf(id)`); "you" for the reader himself (`me`).
 */
export function systemText(m, { t, nameOf = (id) => id, me = null, verbatim = true } = {}) {
  const event = m?.system?.event
  if ((verbatim && m?.content) || !SYSTEM_EVENTS.includes(event) || !t) return m?.content || ''
  const name = (id) => (id != null && id === me ? t('chat.you') : nameOf(id))
  return t(`chat.system.${event}`, { actor: name(m.system.actor_id ?? m.sender_id), user: name(m.system.user_id) })
}

/**
 * What stands in place of a recalled message: "you recalled a message" for
 * the reader's own, "the other party recalled…" in a direct conversation,
 * "<name> recalled…" in a group (`named`).
 */
export function recallText(m, { t, me = null, named = false, nameOf = (id) => id } = {}) {
  if (m.sender_id === me) return t('chat.recall.mine')
  if (named) return t('chat.recall.byName', { name: m.sender?.username || nameOf(m.sender_id) })
  return t('chat.recall.byOther')
}
