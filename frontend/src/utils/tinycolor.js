// The few colour operations Element Plus needs (a button's or a menu's
// custom `color`: mix, tint, shade, isDark, toString), in place of
// @ctrl/tinycolor (about 14 KB gzipped on every page, through el-button).
// vite.config.js resolves '@ctrl/tinycolor' to this module.

const NAMED = { white: [255, 255, 255], black: [0, 0, 0], transparent: [0, 0, 0, 0] }

function parse(input) {
  if (input instanceof TinyColor) return [input.r, input.g, input.b, input.a]
  const s = String(input ?? '').trim().toLowerCase()
  if (NAMED[s]) return [...NAMED[s], NAMED[s][3] ?? 1].slice(0, 4)
  let m = /^#?([0-9a-f]{3,8})$/.exec(s)
  if (m && [3, 4, 6, 8].includes(m[1].length)) {
    let h = m[1]
    if (h.length <= 4) h = [...h].map((c) => c + c).join('')
    const n = (i) => parseInt(h.slice(i, i + 2), 16)
    return [n(0), n(2), n(4), h.length === 8 ? n(6) / 255 : 1]
  }
  m = /^rgba?\(\s*([\d.]+%?)[\s,]+([\d.]+%?)[\s,]+([\d.]+%?)(?:[\s,/]+([\d.]+%?))?\s*\)$/.exec(s)
  if (m) {
    const ch = (v) => (v.endsWith('%') ? (parseFloat(v) * 255) / 100 : parseFloat(v))
    const a = m[4] == null ? 1 : m[4].endsWith('%') ? parseFloat(m[4]) / 100 : parseFloat(m[4])
    return [ch(m[1]), ch(m[2]), ch(m[3]), a]
  }
  return null
}

const clamp = (v, max) => Math.min(max, Math.max(0, v))
const hex2 = (v) => Math.round(v).toString(16).padStart(2, '0')

export class TinyColor {
  constructor(color = '') {
    const p = parse(color)
    this.isValid = !!p
    const [r, g, b, a] = p || [0, 0, 0, 1]
    this.r = clamp(r, 255)
    this.g = clamp(g, 255)
    this.b = clamp(b, 255)
    this.a = clamp(a, 1)
  }

  /** `amount` percent of the way from this colour to `color`. */
  mix(color, amount = 50) {
    const o = new TinyColor(color)
    const p = amount / 100
    const c = new TinyColor()
    c.r = (o.r - this.r) * p + this.r
    c.g = (o.g - this.g) * p + this.g
    c.b = (o.b - this.b) * p + this.b
    c.a = (o.a - this.a) * p + this.a
    return c
  }

  tint(amount = 10) {
    return this.mix('#ffffff', amount)
  }

  shade(amount = 10) {
    return this.mix('#000000', amount)
  }

  getBrightness() {
    return (this.r * 299 + this.g * 587 + this.b * 114) / 1000
  }

  isDark() {
    return this.getBrightness() < 128
  }

  isLight() {
    return !this.isDark()
  }

  toHexString() {
    return `#${hex2(this.r)}${hex2(this.g)}${hex2(this.b)}`
  }

  toString() {
    if (this.a < 1) return `rgba(${Math.round(this.r)}, ${Math.round(this.g)}, ${Math.round(this.b)}, ${Math.round(this.a * 100) / 100})`
    return this.toHexString()
  }
}

export default TinyColor
