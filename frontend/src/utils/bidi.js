// Direction controls a sender can put into text (names, messages) to make
// what follows them read backwards ("evil\u202Efdp.exe" shows as
// "evilexe.pdf") or to spill into the text around them. Paired ones are
// left alone; an opener never closed, or a closer with no opener, is
// dropped. The display also isolates each such text (`unicode-bidi:
// isolate`, see styles/theme.css), so even a paired override stays inside
// its own element.

const EMBEDDINGS = new Set(['\u202A', '\u202B', '\u202D', '\u202E']) // LRE RLE LRO RLO
const POP_EMBEDDING = '\u202C' // PDF
const ISOLATES = new Set(['\u2066', '\u2067', '\u2068']) // LRI RLI FSI
const POP_ISOLATE = '\u2069' // PDI

/** `text` without its unpaired direction embeddings, overrides and isolates. */
export function stripUnpairedBidi(text) {
  const chars = Array.from(String(text ?? ''))
  const drop = new Set()
  const open = [] // indices of openers waiting for their closer, innermost last
  const isIsolate = (i) => ISOLATES.has(chars[i])
  chars.forEach((c, i) => {
    if (EMBEDDINGS.has(c) || ISOLATES.has(c)) {
      open.push(i)
    } else if (c === POP_EMBEDDING) {
      // A PDF closes the innermost embedding, never across an isolate.
      if (open.length && !isIsolate(open[open.length - 1])) open.pop()
      else drop.add(i)
    } else if (c === POP_ISOLATE) {
      let j = open.length - 1
      while (j >= 0 && !isIsolate(open[j])) j -= 1
      if (j < 0) {
        drop.add(i)
        return
      }
      // Embeddings left open inside the isolate end with it: unpaired.
      for (const k of open.splice(j).slice(1)) drop.add(k)
    }
  })
  for (const k of open) drop.add(k)
  return drop.size ? chars.filter((_, i) => !drop.has(i)).join('') : String(text ?? '')
}
