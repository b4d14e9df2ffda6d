export default {
  language: 'Language',
  chinese: '中文',
  english: 'English',
  accessRestricted: 'Access restricted',
  accessRestrictedHint: 'This chat cannot be opened. Please use a valid link.',
  networkError: 'Network error, please try again',
  loading: 'Loading…',
}
