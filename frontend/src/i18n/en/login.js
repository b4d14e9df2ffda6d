// The sign-in page's texts, also the console's title: ../loginMessages.js loads only these.
export default {
  title: 'Admin console',
  brand: 'Live chat · Admin',
  login: {
    title: 'Administrator sign-in',
    subtitle: 'Sign in to monitor conversations and manage users',
    username: 'Username',
    password: 'Password',
    usernamePlaceholder: 'Username',
    passwordPlaceholder: 'Password',
    submit: 'Sign in',
    submitting: 'Signing in…',
    required: 'Enter your username and password',
    failed: 'Wrong username or password',
    tooMany: 'Too many sign-in attempts. Please try again later',
    network: 'Cannot reach the server. Please try again',
    expired: 'Your session has expired. Please sign in again',
    legacyLink: 'The console no longer opens from a user_id in the link: administrators sign in with their account.',
  },
}
