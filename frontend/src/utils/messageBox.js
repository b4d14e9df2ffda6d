// ElMessageBox with its CSS, loaded on first use (the chat seldom asks).
export async function messageBox() {
  const [mod] = await Promise.all([
    import('element-plus/es/components/message-box/index.mjs'),
    import('element-plus/es/components/message-box/style/css'),
  ])
  return mod.ElMessageBox
}
