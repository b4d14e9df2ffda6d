import { describe, it, expect, vi, afterEach } from 'vitest'
import { isEmbedded, sessionFromParent, closeOnEscape } from '../src/utils/embed.js'

/** A window whose parent is another (fake) window that records postMessage. */
function framed() {
  const parent = { postMessage: vi.fn() }
  const target = new EventTarget()
  const win = {
    parent,
    document,
    addEventListener: target.addEventListener.bind(target),
    removeEventListener: target.removeEventListener.bind(target),
    dispatch: (init) => target.dispatchEvent(Object.assign(new Event('message'), init)),
  }
  return { win, parent }
}

afterEach(() => vi.useRealTimers())

describe('the widget panel', () => {
  it('is embedded only with ?embed inside a frame', () => {
    const { win } = framed()
    expect(isEmbedded({ embed: '1' }, win)).toBe(true)
    expect(isEmbedded({}, win)).toBe(false)
    const top = {}
    top.parent = top
    expect(isEmbedded({ embed: '1' }, top)).toBe(false)
  })

  it('asks the parent and takes the session only from it', async () => {
    const { win, parent } = framed()
    const got = sessionFromParent(win, 1000)
    expect(parent.postMessage).toHaveBeenCalledWith({ type: 'livechat:ready' }, '*')
    // Another window's message, and a malformed one, are ignored.
    win.dispatch({ source: {}, data: { type: 'livechat:session', token: 'forged', user: { id: 'b2' } } })
    win.dispatch({ source: parent, data: { type: 'livechat:session', token: 42 } })
    win.dispatch({ source: parent, data: { type: 'livechat:session', token: 't', user: { id: 'b1' } } })
    await expect(got).resolves.toEqual({ token: 't', user: { id: 'b1' } })
  })

  it('gives up when the parent says nothing', async () => {
    vi.useFakeTimers()
    const { win } = framed()
    const got = sessionFromParent(win, 1000)
    vi.advanceTimersByTime(1000)
    await expect(got).resolves.toBeNull()
  })

  it('asks the parent to close on Escape, unless a dialog took it', () => {
    const stop = closeOnEscape(window)
    // jsdom's window is its own parent: spy on its postMessage instead.
    const post = vi.spyOn(window.parent, 'postMessage').mockImplementation(() => {})
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }))
    expect(post).toHaveBeenCalledWith({ type: 'livechat:close' }, '*')
    post.mockClear()
    const taken = new KeyboardEvent('keydown', { key: 'Escape', cancelable: true })
    taken.preventDefault()
    window.dispatchEvent(taken)
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }))
    expect(post).not.toHaveBeenCalled()
    stop()
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }))
    expect(post).not.toHaveBeenCalled()
    post.mockRestore()
  })
})
