// The user's quick replies (at most `max_quick_replies`, ordered by
// `position`); every change is followed by a fresh list from the server.
import { reactive } from 'vue'
import { listOf } from './threads'

export function createQuickReplies({ api, me }) {
  const state = reactive({ items: [] })

  async function load() {
    const body = await api.quickReplies(me)
    state.items = listOf(body)
      .slice()
      .sort((a, b) => (a.position ?? 0) - (b.position ?? 0))
    return state.items
  }

  async function add(content) {
    await api.addQuickReply(content)
    return load()
  }

  async function edit(id, content) {
    await api.updateQuickReply(id, { content })
    return load()
  }

  async function remove(id) {
    await api.deleteQuickReply(id)
    return load()
  }

  /** Moves the reply at `index` by `delta` (-1 up, +1 down). */
  async function move(index, delta) {
    const list = state.items.slice()
    const j = index + delta
    if (j < 0 || j >= list.length) return list
    const [item] = list.splice(index, 1)
    list.splice(j, 0, item)
    state.items = list
    // The server moves the item to `position` (0-based) and renumbers the rest.
    try {
      await api.updateQuickReply(item.id, { position: j })
    } finally {
      await load().catch(() => {})
    }
    return state.items
  }

  return { state, load, add, edit, remove, move }
}
