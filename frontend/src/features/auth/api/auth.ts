import { api } from '@/lib/api-client';
import type { TokenPublic, UserCreate, UserLogin, UserPublic } from '@/lib/protocol';

export type Credentials = UserLogin;
export type SignupInput = UserCreate;

export const meQueryKey = ['auth', 'me'] as const;

export const login = (body: Credentials) => api<TokenPublic>('/api/auth/login', { method: 'POST', body });
export const signup = (body: SignupInput) => api<TokenPublic>('/api/auth/signup', { method: 'POST', body });
export const fetchMe = () => api<UserPublic>('/api/auth/me');
