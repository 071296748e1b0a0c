export { AuthForm } from './components/AuthForm';
export { useLogout, useToken, useUser } from './hooks/useAuth';
