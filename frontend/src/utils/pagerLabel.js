// Element Plus's page-size select has no accessible name: `v-pager-label="text"`
// on an <el-pagination> gives it one.
function apply(el, binding) {
  const input = el.querySelector('.el-pagination__sizes input')
  if (input && input.getAttribute('aria-label') !== binding.value) input.setAttribute('aria-label', binding.value)
}

export const vPagerLabel = { mounted: apply, updated: apply }
