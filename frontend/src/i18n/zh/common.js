export default {
  language: '语言',
  chinese: '中文',
  english: 'English',
  accessRestricted: '访问受限',
  accessRestrictedHint: '无法打开此会话，请通过有效的链接进入。',
  networkError: '网络错误，请稍后重试',
  loading: '加载中…',
}
