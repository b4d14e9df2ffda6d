import { describe, expect, it } from 'vitest'
import { stripUnpairedBidi } from '../src/utils/bidi'

describe('stripUnpairedBidi', () => {
  it('drops an override never closed, the file-name trick', () => {
    expect(stripUnpairedBidi('evil\u202Efdp.exe')).toBe('evilfdp.exe')
    expect(stripUnpairedBidi('\u202Dabc')).toBe('abc')
    expect(stripUnpairedBidi('a\u2067b')).toBe('ab')
  })

  it('drops closers with no opener', () => {
    expect(stripUnpairedBidi('a\u202Cb\u2069c')).toBe('abc')
  })

  it('keeps paired embeddings, overrides and isolates', () => {
    const paired = 'x \u202Bשלום\u202C y \u2066abc\u2069 \u202E\u2067z\u2069\u202C'
    expect(stripUnpairedBidi(paired)).toBe(paired)
  })

  it('never lets a PDF close an embedding across an isolate', () => {
    // The PDF inside the isolate has no embedding of its own to close, and
    // the RLO outside is left open: both go.
    expect(stripUnpairedBidi('\u202Ea\u2066b\u202Cc\u2069d')).toBe('a\u2066bc\u2069d')
  })

  it('ends embeddings left open inside an isolate', () => {
    expect(stripUnpairedBidi('\u2066a\u202Eb\u2069c')).toBe('\u2066ab\u2069c')
  })

  it('leaves other text alone and takes anything', () => {
    expect(stripUnpairedBidi('你好 👩‍💻 \u200B')).toBe('你好 👩‍💻 \u200B')
    expect(stripUnpairedBidi(null)).toBe('')
    expect(stripUnpairedBidi(undefined)).toBe('')
    expect(stripUnpairedBidi(42)).toBe('42')
  })
})
