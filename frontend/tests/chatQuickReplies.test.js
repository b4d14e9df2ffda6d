import { describe, it, expect } from 'vitest'
import { createQuickReplies } from '../src/stores/chat/quickReplies'
import { fakeApi } from './support/chatFakes'

describe('chat quick replies', () => {
  it('reorders quick replies by moving one to its new position', async () => {
    const api = fakeApi()
    let list = [
      { id: 11, content: 'a', position: 0 },
      { id: 12, content: 'b', position: 1 },
      { id: 13, content: 'c', position: 2 },
    ]
    api.quickReplies.mockImplementation(async () => ({ count: list.length, results: list }))
    // Like the server: move to `position`, renumber the rest.
    api.updateQuickReply.mockImplementation(async (id, body) => {
      const rest = list.filter((q) => q.id !== id)
      rest.splice(body.position, 0, list.find((q) => q.id === id))
      list = rest.map((q, i) => ({ ...q, position: i }))
    })
    const quickReplies = createQuickReplies({ api, me: 'b1' })
    await quickReplies.load()
    await quickReplies.move(2, -1)
    expect(quickReplies.state.items.map((q) => q.content)).toEqual(['a', 'c', 'b'])
    expect(api.updateQuickReply.mock.calls).toEqual([[13, { position: 1 }]])
    await quickReplies.move(0, 1)
    expect(quickReplies.state.items.map((q) => q.content)).toEqual(['c', 'a', 'b'])
  })
})
