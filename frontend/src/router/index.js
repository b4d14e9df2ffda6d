import { createRouter, createWebHistory } from 'vue-router'

const routes = [
  { path: '/', redirect: (to) => ({ path: '/chat', query: to.query }) },
  { path: '/chat', name: 'chat', component: () => import('../views/ChatView.vue') },
  { path: '/login', name: 'login', component: () => import('../views/LoginView.vue') },
  {
    path: '/admin',
    name: 'admin',
    component: () => import('../views/AdminView.vue'),
    // The guard (with the admin's session store) loads with the console.
    beforeEnter: (to) => import('./guards').then((m) => m.adminGuard(to)),
  },
  { path: '/:pathMatch(.*)*', redirect: '/chat' },
]

const router = createRouter({ history: createWebHistory(), routes })

export default router
