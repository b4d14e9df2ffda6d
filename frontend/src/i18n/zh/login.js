// The sign-in page's texts, also the console's title: ../loginMessages.js loads only these.
export default {
  title: '客服后台',
  brand: '在线客服 · 管理后台',
  login: {
    title: '管理员登录',
    subtitle: '登录后可实时监控会话、管理用户',
    username: '用户名',
    password: '密码',
    usernamePlaceholder: '请输入用户名',
    passwordPlaceholder: '请输入密码',
    submit: '登录',
    submitting: '登录中…',
    required: '请输入用户名和密码',
    failed: '用户名或密码错误',
    tooMany: '登录尝试过于频繁，请稍后再试',
    network: '无法连接服务器，请稍后重试',
    expired: '登录已过期，请重新登录',
    legacyLink: '管理后台已不再通过链接中的 user_id 进入，请使用管理员账号登录。',
  },
}
