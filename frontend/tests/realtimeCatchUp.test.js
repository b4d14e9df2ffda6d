import { describe, it, expect } from 'vitest'
import { fetchAllAfter, cursorsOf, catchUp } from '../src/realtime/catchUp'

const msg = (id, extra = {}) => ({ id, conversation_id: 1, sender_id: 'm1', message_type: 'text', content: `m${id}`, created_at: 1000 + id, ...extra })

describe('fetchAllAfter (catch-up paging)', () => {
  const server = (n) => Array.from({ length: n }, (_, i) => msg(i + 1))
  function fakeFetch(all, calls) {
    return async (after, size) => {
      calls.push(after)
      const results = all.filter((m) => m.id > after).slice(0, size)
      return { count: results.length, results }
    }
  }

  it('repeats while full pages come back, with the highest id as cursor', async () => {
    const calls = []
    const got = await fetchAllAfter(fakeFetch(server(250), calls), 20, 100)
    expect(got.map((m) => m.id)).toEqual(Array.from({ length: 230 }, (_, i) => i + 21))
    expect(calls).toEqual([20, 120, 220])
  })

  it('asks once more after an exactly full last page', async () => {
    const calls = []
    const got = await fetchAllAfter(fakeFetch(server(200), calls), 0, 100)
    expect(got).toHaveLength(200)
    expect(calls).toEqual([0, 100, 200])
  })

  it('stops on a server that ignores the cursor', async () => {
    const calls = []
    const got = await fetchAllAfter(async (a) => (calls.push(a), { results: [msg(1), msg(2)] }), 5, 2)
    expect(calls).toEqual([5])
    expect(got).toHaveLength(2)
  })
})

describe('catch-up steps', () => {
  it('takes cursors only for the conversations whose messages are held', () => {
    expect(cursorsOf({ 1: [msg(3), msg(9), { id: null, client_msg_id: 'p' }], 2: [], 3: null })).toEqual({ 1: 9, 2: 0 })
  })

  it('reloads the list first, then pages each held conversation after its cursor', async () => {
    const steps = []
    const merged = {}
    await catchUp({
      cursors: { 7: 2, abc: 0 },
      reloadList: async () => steps.push('list'),
      fetchPage: async (id, after, size) => {
        steps.push([id, after, size])
        const all = id === 7 ? [msg(3), msg(4), msg(5)] : []
        return { results: all.filter((m) => m.id > after).slice(0, size) }
      },
      merge: (id, msgs) => (merged[id] = msgs.map((m) => m.id)),
      pageSize: 2,
    })
    expect(steps).toEqual(['list', [7, 2, 2], [7, 4, 2], ['abc', 0, 2]])
    expect(merged).toEqual({ 7: [3, 4, 5] })
  })
})
