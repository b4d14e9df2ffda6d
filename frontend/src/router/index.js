import { createRouter, createWebHistory } from 'vue-router'
import { adminGuard } from './guards'

const routes = [
  { path: '/', redirect: (to) => ({ path: '/chat', query: to.query }) },
  { path: '/chat', name: 'chat', component: () => import('../views/ChatView.vue') },
  { path: '/login', name: 'login', component: () => import('../views/LoginView.vue') },
  {
    path: '/admin',
    name: 'admin',
    component: () => import('../views/AdminView.vue'),
    beforeEnter: adminGuard,
  },
  { path: '/:pathMatch(.*)*', redirect: '/chat' },
]

const router = createRouter({ history: createWebHistory(), routes })

export default router
