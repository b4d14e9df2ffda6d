// What a conversation shows of its last message. The server writes these
// tags into `last_message` for media (in Chinese, whatever the reader's
// language); the Chinese UI shows them as they are, and other languages
// translate them under `chat.preview.<type>`.
export const PREVIEW_TAGS = Object.freeze({ image: '[图片]', file: '[文件]', voice: '[语音]', order: '[订单]' })

export const TEXT_PREVIEW_CHARS = 100

/** A call record's preview tag, by the call's media. */
export const CALL_PREVIEW_TAGS = Object.freeze({ audio: '[语音通话]', video: '[视频通话]' })
const callMedia = (m) => (m.call?.media === 'video' ? 'video' : 'audio')

/** The server's preview of a message: a tag for media, else the first 100 characters. */
export function messagePreview(m) {
  if (!m) return ''
  if (Object.hasOwn(PREVIEW_TAGS, m.message_type)) return PREVIEW_TAGS[m.message_type]
  if (m.message_type === 'call') return CALL_PREVIEW_TAGS[callMedia(m)]
  return String(m.content ?? '').slice(0, TEXT_PREVIEW_CHARS)
}

/** The i18n key that names a media type's preview, or null for text. */
export function previewKey(type) {
  return Object.hasOwn(PREVIEW_TAGS, type) ? `chat.preview.${type}` : null
}

/** A message's preview in the reader's language (`t` is vue-i18n's), `max` characters of text. */
export function localPreview(m, t, max = TEXT_PREVIEW_CHARS) {
  if (m?.message_type === 'call') return t(`call.preview.${callMedia(m)}`)
  const key = previewKey(m?.message_type)
  return key ? t(key) : String(m?.content ?? '').slice(0, max)
}
