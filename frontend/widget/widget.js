// The embeddable chat widget, served as /widget.js: plain JavaScript, no
// framework. A marketplace page includes
//
//   <script src="<BASE_URL>/widget.js" data-user-id="b1" data-expires="…"
//           data-signature="…" data-target="m1" async></script>
//
// and gets a floating chat button with an unread badge. At page load the
// signed link is exchanged once for a session (POST /api/auth/session), so
// a panel opened later still works after the link expired; one light socket
// keeps the badge current; the full app (an iframe of /chat) loads only
// when the panel opens, and gets the session by postMessage, never in its
// URL. Problems with the data-* attributes are reported with console.warn;
// nothing here throws at the host page.
;(function () {
  'use strict'

  var TAG = '[livechat widget]'
  var OPEN_KEY = 'livechat.widget.open'
  var TEXTS = {
    zh: { open: '打开在线客服', close: '关闭在线客服', title: '在线客服', unread: '条未读消息' },
    en: { open: 'Open chat', close: 'Close chat', title: 'Chat', unread: 'unread messages' },
  }

  function warn() {
    try {
      console.warn.apply(console, [TAG].concat([].slice.call(arguments)))
    } catch {
      /* a host page without a console */
    }
  }

  function store(get, value) {
    try {
      if (get) return window.localStorage.getItem(OPEN_KEY) === '1'
      window.localStorage.setItem(OPEN_KEY, value ? '1' : '0')
    } catch {
      /* storage blocked: the state is simply not remembered */
    }
    return false
  }

  /** The widget's configuration from its script tag, or null (after a warning). */
  function readConfig(script) {
    if (!script || !script.src) {
      warn('cannot find its own <script> tag; include it with a src attribute')
      return null
    }
    var d = script.dataset
    var base = script.src.replace(/\/widget\.js(?:[?#].*)?$/, '')
    var cfg = { base: base, origin: new URL(base).origin, userId: (d.userId || '').trim() }
    if (!cfg.userId) {
      warn('data-user-id is missing: the chat button is not shown')
      return null
    }
    if (d.expires != null && d.expires !== '') {
      if (!/^\d+$/.test(d.expires)) {
        warn('data-expires must be unix seconds, got "' + d.expires + '": the chat button is not shown')
        return null
      }
      cfg.expires = Number(d.expires)
      if (cfg.expires * 1000 <= Date.now()) warn('data-expires is in the past: the server will refuse the link')
    }
    if (d.signature) {
      if (!/^[0-9a-fA-F]{64}$/.test(d.signature)) {
        warn('data-signature must be 64 hex characters (HMAC-SHA256): the chat button is not shown')
        return null
      }
      cfg.signature = d.signature
    }
    if ((cfg.expires == null) !== (cfg.signature == null)) {
      warn('data-expires and data-signature come together; the server will refuse a link with one of them')
    }
    cfg.target = (d.target || '').trim() || null
    cfg.lang = d.lang === 'en' ? 'en' : 'zh'
    return cfg
  }

  var CSS =
    ':host{all:initial}' +
    '.btn{position:fixed;right:24px;bottom:24px;z-index:2147483646;width:56px;height:56px;border:0;border-radius:50%;' +
    'background:#409eff;color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}' +
    '.btn:focus-visible{outline:3px solid #1d4ed8;outline-offset:3px}' +
    '.btn svg{width:28px;height:28px;fill:currentColor}' +
    '.badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 6px;box-sizing:border-box;border-radius:10px;' +
    'background:#f56c6c;color:#fff;font:600 12px/20px system-ui,sans-serif;text-align:center}' +
    '.badge[hidden]{display:none}' +
    '.panel{position:fixed;right:24px;bottom:92px;z-index:2147483647;width:400px;height:640px;max-height:calc(100vh - 116px);' +
    'display:flex;flex-direction:column;background:#fff;border-radius:12px;overflow:hidden;box-shadow:0 8px 30px rgba(0,0,0,.3)}' +
    '.panel[hidden]{display:none}' +
    '.head{display:flex;align-items:center;justify-content:space-between;padding:6px 8px 6px 14px;background:#409eff;color:#fff;' +
    'font:600 15px system-ui,sans-serif}' +
    '.x{border:0;background:transparent;color:#fff;font:24px/1 system-ui,sans-serif;cursor:pointer;padding:4px 8px;border-radius:6px}' +
    '.x:focus-visible{outline:2px solid #fff}' +
    'iframe{flex:1;width:100%;border:0}' +
    '@media (max-width:640px){.panel{inset:0;width:100%;height:100%;max-height:none;border-radius:0}}'

  var ICON =
    '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-4 4V5a2 2 0 0 1 2-2zm3 6v2h2V9H7zm4 0v2h2V9h-2zm4 0v2h2V9h-2z"/></svg>'

  function Widget(cfg) {
    this.cfg = cfg
    this.t = TEXTS[cfg.lang]
    this.session = null // { token, user, expiresAt }
    this.unread = {} // conversation id -> my unread count
    this.socket = null
    this.retry = 0
    this.frame = null
  }

  Widget.prototype.mount = function () {
    var host = document.createElement('div')
    host.setAttribute('data-livechat-widget', '')
    var root = host.attachShadow({ mode: 'open' })
    root.innerHTML =
      '<style>' + CSS + '</style>' +
      '<div class="panel" role="dialog" hidden><div class="head"><span class="title"></span>' +
      '<button type="button" class="x">×</button></div></div>' +
      '<button type="button" class="btn" aria-expanded="false">' + ICON + '<span class="badge" hidden></span></button>'
    this.button = root.querySelector('.btn')
    this.badge = root.querySelector('.badge')
    this.panel = root.querySelector('.panel')
    var title = root.querySelector('.title')
    title.textContent = this.t.title
    this.panel.setAttribute('aria-label', this.t.title)
    var close = root.querySelector('.x')
    close.setAttribute('aria-label', this.t.close)
    this.renderBadge()
    var self = this
    this.button.addEventListener('click', function () {
      self.setOpen(self.panel.hidden)
    })
    close.addEventListener('click', function () {
      self.setOpen(false)
    })
    root.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && !self.panel.hidden) {
        e.stopPropagation()
        self.setOpen(false)
      }
    })
    window.addEventListener('message', function (e) {
      self.onFrameMessage(e)
    })
    document.body.appendChild(host)
  }

  Widget.prototype.total = function () {
    var n = 0
    for (var id in this.unread) n += this.unread[id]
    return n
  }

  Widget.prototype.renderBadge = function () {
    var n = this.total()
    this.badge.hidden = n === 0
    this.badge.textContent = n > 99 ? '99+' : String(n)
    var label = this.panel && !this.panel.hidden ? this.t.close : this.t.open
    this.button.setAttribute('aria-label', n ? label + ' (' + n + ' ' + this.t.unread + ')' : label)
  }

  Widget.prototype.setOpen = function (open) {
    store(false, open)
    this.panel.hidden = !open
    this.button.setAttribute('aria-expanded', String(open))
    if (open) {
      // The full app loads now, not before; a closed panel drops it so a
      // hidden chat never marks messages as read.
      if (!this.frame) {
        var q = 'embed=1' + (this.cfg.target ? '&target=' + encodeURIComponent(this.cfg.target) : '')
        if (this.cfg.lang === 'en') q += '&lang=en'
        var f = document.createElement('iframe')
        f.src = this.cfg.base + '/chat?' + q
        f.title = this.t.title
        f.setAttribute('allow', 'microphone; camera; autoplay')
        this.panel.appendChild(f)
        this.frame = f
      }
      this.frame.focus()
    } else {
      if (this.frame) this.frame.remove()
      this.frame = null
      this.button.focus()
    }
    this.renderBadge()
  }

  /** The iframe asks for the session (or to be closed); only it is answered. */
  Widget.prototype.onFrameMessage = function (e) {
    if (!this.frame || e.source !== this.frame.contentWindow || e.origin !== this.cfg.origin) return
    var data = e.data || {}
    if (data.type === 'livechat:ready' && this.session) {
      this.frame.contentWindow.postMessage(
        { type: 'livechat:session', token: this.session.token, user: this.session.user },
        this.cfg.origin,
      )
    } else if (data.type === 'livechat:close') {
      this.setOpen(false)
    }
  }

  Widget.prototype.api = function (method, path, body) {
    var headers = { Accept: 'application/json' }
    if (body) headers['Content-Type'] = 'application/json'
    if (this.session) headers.Authorization = 'Bearer ' + this.session.token
    return fetch(this.cfg.base + path, {
      method: method,
      headers: headers,
      body: body ? JSON.stringify(body) : undefined,
      credentials: 'omit',
    }).then(function (r) {
      return r.json().then(
        function (json) {
          if (!r.ok) throw Object.assign(new Error(json.detail || 'HTTP ' + r.status), { status: r.status })
          return json
        },
        function () {
          throw Object.assign(new Error('HTTP ' + r.status), { status: r.status })
        },
      )
    })
  }

  Widget.prototype.start = function () {
    var self = this
    var body = { user_id: this.cfg.userId }
    if (this.cfg.expires != null) body.expires = this.cfg.expires
    if (this.cfg.signature) body.signature = this.cfg.signature
    return this.api('POST', '/api/auth/session', body).then(
      function (answer) {
        self.keep(answer)
        self.connect()
        if (store(true)) self.setOpen(true)
      },
      function (e) {
        warn(
          e.status === 403
            ? 'the server refused the signed link (data-user-id, data-expires, data-signature): ' + e.message
            : 'could not open a chat session: ' + e.message,
        )
      },
    )
  }

  /** Keeps a session and renews it before it expires. */
  Widget.prototype.keep = function (answer) {
    var self = this
    this.session = { token: answer.access_token, user: answer.user, expiresAt: answer.expires_at }
    clearTimeout(this.renewTimer)
    var wait = Math.min(Math.max((answer.expires_at - Date.now()) * 0.9, 60000), 2147483647)
    this.renewTimer = setTimeout(function () {
      self.api('POST', '/api/auth/refresh').then(
        function (a) {
          self.keep(a)
        },
        function (e) {
          warn('could not renew the chat session: ' + e.message)
        },
      )
    }, wait)
  }

  /** My unread count in a conversation object. */
  Widget.prototype.mine = function (conv) {
    var me = this.session.user.id
    var parts = conv.participants || []
    for (var i = 0; i < parts.length; i++) if (parts[i].user_id === me) return parts[i].unread_count || 0
    return 0
  }

  /** The conversation list's unread counts, every page. */
  Widget.prototype.loadUnread = function () {
    var self = this
    var counts = {}
    function page(n) {
      return self.api('GET', '/api/conversations/?page_size=100&page=' + n).then(function (list) {
        list.results.forEach(function (c) {
          counts[c.id] = self.mine(c)
        })
        if (n * 100 < list.count && n < 20) return page(n + 1)
        self.unread = counts
        self.renderBadge()
      })
    }
    return page(1).catch(function (e) {
      warn('could not load unread counts: ' + e.message)
    })
  }

  Widget.prototype.connect = function () {
    var self = this
    var url =
      this.cfg.base.replace(/^http/, 'ws') +
      '/ws/' + encodeURIComponent(this.session.user.id) +
      '?token=' + encodeURIComponent(this.session.token)
    var ws = new WebSocket(url)
    this.socket = ws
    ws.onopen = function () {
      self.retry = 0
      // Opened first, then the list: nothing that happens from now is missed.
      self.loadUnread()
    }
    ws.onmessage = function (e) {
      var frame
      try {
        frame = JSON.parse(e.data)
      } catch {
        return
      }
      self.onFrame(frame)
    }
    ws.onclose = function (e) {
      if (self.socket !== ws) return
      self.socket = null
      if (e.code === 4403) return warn('the chat session was refused (user disabled?)')
      var delay = e.code === 4429 ? 30000 : Math.min(30000, 1000 * Math.pow(2, self.retry++))
      setTimeout(function () {
        if (e.code !== 4401) return self.connect()
        self.api('POST', '/api/auth/refresh').then(
          function (a) {
            self.keep(a)
            self.connect()
          },
          function (err) {
            warn('the chat session expired: ' + err.message)
          },
        )
      }, delay * (0.5 + Math.random() / 2))
    }
  }

  Widget.prototype.onFrame = function (f) {
    if (f.type === 'conversation' && f.conversation) {
      this.unread[f.conversation.id] = this.mine(f.conversation)
    } else if (f.type === 'message' && f.message) {
      // The exact count follows in the `conversation` frame; counting now
      // shows the badge without waiting for it.
      var m = f.message
      var record = m.message_type === 'system' || m.message_type === 'call'
      if (m.sender_id !== this.session.user.id && !record) {
        this.unread[m.conversation_id] = (this.unread[m.conversation_id] || 0) + 1
      }
    } else if (f.type === 'conversation_removed') {
      delete this.unread[f.conversation_id]
    } else {
      return
    }
    this.renderBadge()
  }

  function boot(script) {
    try {
      var cfg = readConfig(script)
      if (!cfg) return
      var w = new Widget(cfg)
      w.mount()
      w.start()
    } catch (e) {
      warn('could not start:', e)
    }
  }

  var me = document.currentScript
  if (document.body) boot(me)
  else
    document.addEventListener('DOMContentLoaded', function () {
      boot(me)
    })
})()
