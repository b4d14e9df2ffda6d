import { describe, it, expect } from 'vitest'
import { computed } from 'vue'
import { createI18n, useI18n, format } from '../src/i18n/translate'

describe('the translation helper', () => {
  const make = () =>
    createI18n({
      locale: 'en',
      fallbackLocale: 'zh',
      messages: { zh: { a: { hi: '你好，{name}', only: '只有中文', n: '第{0}条' } }, en: { a: { hi: 'Hello, {name}' } } },
    })

  it('fills placeholders, falls back to the fallback locale, and answers the key when missing', () => {
    const { t, te } = make().global
    expect(t('a.hi', { name: 'b1' })).toBe('Hello, b1')
    expect(t('a.only')).toBe('只有中文')
    expect(te('a.only')).toBe(false)
    expect(te('a.only', 'zh')).toBe(true)
    expect(t('a.missing')).toBe('a.missing')
    expect(t('a')).toEqual({ hi: 'Hello, {name}' })
    expect(format('第{0}条，{ x }', [3])).toBe('第3条，')
  })

  it('merges messages deeply and follows the locale reactively', () => {
    const i18n = make()
    const g = useI18n()
    expect(g).toBe(i18n.global)
    const text = computed(() => g.t('a.n', [7]))
    expect(text.value).toBe('第7条')
    i18n.global.mergeLocaleMessage('en', { a: { n: 'No. {0}' } })
    expect(text.value).toBe('No. 7')
    expect(g.t('a.hi', { name: 'x' })).toBe('Hello, x') // kept by the merge
    g.locale.value = 'zh'
    expect(text.value).toBe('第7条')
    expect(g.n(12345)).toBe('12,345')
  })
})
