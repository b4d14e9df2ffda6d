import { describe, it, expect } from 'vitest'
import { TinyColor } from '../src/utils/tinycolor'

// Expected values are @ctrl/tinycolor 4.3's for the same calls.
describe('the colour helper in place of @ctrl/tinycolor', () => {
  it('tints, shades and mixes as tinycolor does', () => {
    expect(new TinyColor('#409eff').tint(30).toString()).toBe('#79bbff') // rgb(121, 187, 255)
    expect(new TinyColor('#409eff').mix('#141414', 20).toString()).toBe('#3782d0') // rgb(55, 130, 208)
    expect(new TinyColor('rgb(10,20,30)').tint(50).toString()).toBe('#858a8f') // rgb(133, 138, 143)
    expect(new TinyColor('#abc').shade(20).toString()).toBe('#8896a3') // rgb(136, 150, 163)
  })

  it('tells dark from light and keeps alpha', () => {
    expect(new TinyColor('rgb(10,20,30)').isDark()).toBe(true)
    expect(new TinyColor('#409eff').isDark()).toBe(false)
    expect(new TinyColor('#ff000080').toString()).toBe('rgba(255, 0, 0, 0.5)')
    expect(new TinyColor('not a colour').isValid).toBe(false)
  })
})
