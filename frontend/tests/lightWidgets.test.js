// The chat's own tooltip and popover (in place of Element Plus's, which
// bring Popper), and the build plugins: one module per icon, and the
// chat's chunks preloaded from index.html.
import { describe, it, expect, afterEach } from 'vitest'
import { mount } from '@vue/test-utils'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import HintTip from '../src/components/common/HintTip.vue'
import ToolPopover from '../src/components/common/ToolPopover.vue'
import { iconSources, rewriteImports } from '../build/splitIcons.js'
import { preloadScript, routeFiles } from '../build/routePreload.js'

let wrapper
afterEach(() => wrapper?.unmount())

describe('HintTip', () => {
  it('shows its text on hover and keyboard focus, and hides it after', async () => {
    wrapper = mount(HintTip, { props: { content: '新建群聊' }, slots: { default: '<button>+</button>' }, attachTo: document.body })
    expect(wrapper.find('[role=tooltip]').exists()).toBe(false)
    await wrapper.trigger('mouseenter')
    expect(wrapper.find('[role=tooltip]').text()).toBe('新建群聊')
    await wrapper.trigger('mouseleave')
    expect(wrapper.find('[role=tooltip]').exists()).toBe(false)
    await wrapper.find('button').trigger('focusin')
    expect(wrapper.find('[role=tooltip]').exists()).toBe(true)
    await wrapper.trigger('keydown', { key: 'Escape' })
    expect(wrapper.find('[role=tooltip]').exists()).toBe(false)
  })

  it('shows nothing without text', async () => {
    wrapper = mount(HintTip, { slots: { default: '<button>+</button>' } })
    await wrapper.trigger('mouseenter')
    expect(wrapper.find('[role=tooltip]').exists()).toBe(false)
  })
})

describe('ToolPopover', () => {
  const host = {
    components: { ToolPopover },
    data: () => ({ open: false }),
    template: `<div><ToolPopover v-model:visible="open" :width="320" label="表情">
      <template #reference><button class="ref">😊</button></template>
      <p class="inside">内容</p>
    </ToolPopover><span class="outside">外面</span></div>`,
  }

  it('opens from its trigger and keeps its content once made', async () => {
    wrapper = mount(host, { attachTo: document.body })
    expect(wrapper.find('.inside').exists()).toBe(false)
    await wrapper.find('.ref').trigger('click')
    const panel = wrapper.find('[role=dialog]')
    expect(panel.attributes('aria-label')).toBe('表情')
    expect(panel.isVisible()).toBe(true)
    expect(panel.attributes('style')).toContain('width: 320px')
    await wrapper.find('.ref').trigger('click')
    expect(wrapper.vm.open).toBe(false)
    expect(wrapper.find('.inside').exists()).toBe(true)
  })

  it('closes on a press outside it and on Escape, not on a press inside', async () => {
    wrapper = mount(host, { attachTo: document.body })
    await wrapper.find('.ref').trigger('click')
    wrapper.find('.inside').element.dispatchEvent(new Event('pointerdown', { bubbles: true }))
    expect(wrapper.vm.open).toBe(true)
    wrapper.find('.outside').element.dispatchEvent(new Event('pointerdown', { bubbles: true }))
    expect(wrapper.vm.open).toBe(false)
    await wrapper.vm.$nextTick()
    await wrapper.find('.ref').trigger('click')
    expect(wrapper.vm.open).toBe(true)
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }))
    expect(wrapper.vm.open).toBe(false)
  })
})

describe('splitIcons', () => {
  const require = createRequire(import.meta.url)
  const dir = path.dirname(require.resolve('@element-plus/icons-vue/package.json'))
  const sources = iconSources(readFileSync(path.join(dir, 'dist', 'index.js'), 'utf8'))

  it('cuts one default-exported module per icon of the package', async () => {
    const all = await import('@element-plus/icons-vue')
    const names = Object.keys(all).filter((k) => all[k]?.name && all[k].setup)
    expect(sources.size).toBe(names.length)
    const phone = sources.get('Phone')
    expect(phone).toMatch(/name: "Phone"/)
    expect(phone).toMatch(/export default _sfc_main\d+;/)
    expect(phone).not.toMatch(/VideoCamera/)
  })

  it('rewrites named imports, renamed ones too, and refuses unknown icons', () => {
    const code = `import { Phone, VideoCamera as Cam } from "@element-plus/icons-vue";\nuse(Phone, Cam)`
    expect(rewriteImports(code, sources)).toBe(
      'import Phone from "@element-plus/icons-vue/icon/Phone";\nimport Cam from "@element-plus/icons-vue/icon/VideoCamera";\nuse(Phone, Cam)',
    )
    expect(() => rewriteImports(`import { NoSuchIcon } from '@element-plus/icons-vue'`, sources)).toThrow(/no icon NoSuchIcon/)
  })
})

describe('routePreload', () => {
  const chunk = (fileName, extra = {}) => ({ type: 'chunk', fileName, imports: [], moduleIds: [], viteMetadata: { importedCss: new Set() }, ...extra })
  const bundle = {
    entry: chunk('assets/index.js', { isEntry: true, imports: ['assets/vendor.js'] }),
    vendor: chunk('assets/vendor.js'),
    chat: chunk('assets/ChatView.js', {
      isDynamicEntry: true,
      moduleIds: ['/app/frontend/src/views/ChatView.vue', '/app/frontend/src/stores/chat.js'],
      imports: ['assets/vendor.js', 'assets/shared.js'],
      viteMetadata: { importedCss: new Set(['assets/ChatView.css']) },
    }),
    shared: chunk('assets/shared.js', { imports: ['assets/vendor.js'], viteMetadata: { importedCss: new Set(['assets/shared.css']) } }),
    login: chunk('assets/LoginView.js', { isDynamicEntry: true, moduleIds: ['/app/frontend/src/views/LoginView.vue'] }),
    css: { type: 'asset', fileName: 'assets/ChatView.css' },
  }

  it("lists the route chunk's JS and CSS, less what the entry loads", () => {
    expect(routeFiles(bundle, 'src/views/ChatView.vue')).toEqual({ js: ['assets/ChatView.js', 'assets/shared.js'], css: ['assets/ChatView.css', 'assets/shared.css'] })
  })

  it('names a route it cannot find', () => {
    expect(() => routeFiles(bundle, 'src/views/NoView.vue')).toThrow(/no lazy chunk for src\/views\/NoView.vue/)
  })

  it("the script adds the links on the chat's paths only", () => {
    const run = (pathname) => {
      const links = []
      const document = { createElement: () => ({}), head: { appendChild: (l) => links.push(`${l.rel} ${l.href}`) } }
      new Function('location', 'document', preloadScript(['/', '/chat'], { js: ['assets/a.js'], css: ['assets/a.css'] }))({ pathname }, document)
      return links
    }
    expect(run('/chat')).toEqual(['modulepreload /assets/a.js', 'stylesheet /assets/a.css'])
    expect(run('/chat/')).toHaveLength(2)
    expect(run('/')).toHaveLength(2)
    expect(run('/login')).toEqual([])
    expect(run('/admin')).toEqual([])
  })
})
