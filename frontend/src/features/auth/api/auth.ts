import { api } from '@/lib/api-client';
import type { TokenPublic, UserPublic } from '@/lib/protocol';

export interface Credentials {
  email: string;
  password: string;
}

export interface SignupInput extends Credentials {
  display_name?: string;
}

export const meQueryKey = ['auth', 'me'] as const;

export const login = (body: Credentials) => api<TokenPublic>('/api/auth/login', { method: 'POST', body });
export const signup = (body: SignupInput) => api<TokenPublic>('/api/auth/signup', { method: 'POST', body });
export const fetchMe = () => api<UserPublic>('/api/auth/me');
