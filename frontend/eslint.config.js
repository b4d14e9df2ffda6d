// ESLint (flat config): JavaScript's recommended rules and eslint-plugin-vue's
// "recommended" set, over the app, its unit and browser tests and the config files.
import js from '@eslint/js'
import pluginVue from 'eslint-plugin-vue'
import globals from 'globals'

export default [
  { ignores: ['dist/', 'node_modules/', 'e2e/artifacts/'] },
  js.configs.recommended,
  ...pluginVue.configs['flat/recommended'],
  {
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module', globals: globals.browser },
    rules: {
      // The templates keep short elements on one line. Breaking lines between
      // attributes is layout only; breaking around an element's text would
      // also change it, as Vue keeps that whitespace as a space.
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      // Translations go through the app's own helper (src/i18n/translate.js).
      'no-restricted-imports': ['error', { paths: [{ name: 'vue-i18n', message: "use '../i18n/translate' instead" }] }],
    },
  },
  {
    // The embeddable widget is a classic script on other sites' pages.
    files: ['widget/**'],
    languageOptions: { sourceType: 'script', ecmaVersion: 2019 },
  },
  {
    // Unit tests run in jsdom under Node; browser tests and config files in Node.
    files: ['tests/**', 'tests-build/**', 'e2e/**', 'scripts/**', 'build/**', '*.config.js'],
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
  },
]
