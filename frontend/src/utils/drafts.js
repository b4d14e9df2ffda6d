// Drafts per conversation, kept in sessionStorage (per tab, per user).
const key = (me, convId) => `livechat.draft.${me}.${convId}`

export function loadDraft(me, convId) {
  try {
    return sessionStorage.getItem(key(me, convId)) || ''
  } catch {
    return ''
  }
}

export function saveDraft(me, convId, text) {
  try {
    if (text) sessionStorage.setItem(key(me, convId), text)
    else sessionStorage.removeItem(key(me, convId))
  } catch {
    /* storage full or disabled: drafts are best effort */
  }
}
