import { describe, it, expect } from 'vitest'
import { fakeApi, createChat } from './support/chatFakes'

const offline = () => Object.assign(new Error('Network Error'), { status: 0, errorType: 'network_error' })

describe('load failures', () => {
  it('keeps the list error until a later load (as on reconnect) succeeds', async () => {
    const api = fakeApi()
    const real = api.conversations.getMockImplementation()
    api.conversations.mockRejectedValueOnce(offline())
    const { threads } = createChat({ api, me: 'b1' })
    await expect(threads.loadConversations()).rejects.toMatchObject({ status: 0 })
    expect(threads.state.conversationsError).toMatchObject({ status: 0 })
    expect(threads.state.conversationsLoaded).toBe(false)
    api.conversations.mockImplementation(real)
    await threads.catchUp({})
    expect(threads.state.conversationsError).toBeNull()
    expect(threads.state.conversationsLoaded).toBe(true)
  })

  it('fetches a history that failed to load again on catch-up', async () => {
    const api = fakeApi()
    const { threads } = createChat({ api, me: 'b1' })
    await threads.loadConversations()
    const real = api.messages.getMockImplementation()
    api.messages.mockRejectedValueOnce(offline())
    await threads.open(1).catch(() => {})
    expect(threads.thread(1).error).toBeTruthy()
    api.messages.mockImplementation(real)
    await threads.catchUp(threads.snapshotCursors())
    expect(threads.thread(1).loaded).toBe(true)
    expect(threads.thread(1).error).toBeNull()
  })
})
