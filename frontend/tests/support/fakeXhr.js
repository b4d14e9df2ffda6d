// A stand-in for XMLHttpRequest: each request is answered by `respond(req)`
// returning `{status, body}` (or `'network'` for a failed connection).
export function installFakeXhr(respond) {
  const requests = []
  class FakeXhr {
    constructor() {
      this.headers = {}
      this.upload = {}
      this.status = 0
      this.responseText = ''
    }
    open(method, url) {
      this.method = method
      this.url = url
    }
    setRequestHeader(k, v) {
      this.headers[k] = v
    }
    getAllResponseHeaders() {
      return 'content-type: application/json\r\n'
    }
    abort() {
      queueMicrotask(() => this.onabort && this.onabort())
    }
    send(body) {
      const req = { method: this.method, url: this.url, headers: this.headers, body }
      requests.push(req)
      queueMicrotask(() => {
        const answer = respond(req)
        if (answer === 'network') return this.onerror()
        this.status = answer.status
        this.responseText = answer.body === undefined ? '' : JSON.stringify(answer.body)
        this.onload()
      })
    }
  }
  const previous = globalThis.XMLHttpRequest
  globalThis.XMLHttpRequest = FakeXhr
  return { requests, restore: () => (globalThis.XMLHttpRequest = previous) }
}
