import { api } from '@/lib/api-client';
import type {
  ComparisonPublic,
  MessagePage,
  ModelPublic,
  Preference,
  PreferenceUpdate,
  SessionCreate,
  SessionList,
  SessionPublic,
  SessionUpdate,
} from '@/lib/protocol';

export const chatKeys = {
  sessions: ['chat', 'sessions'] as const,
  messages: (sessionId: string) => ['chat', 'messages', sessionId] as const,
  models: ['chat', 'models'] as const,
};

export const MESSAGE_PAGE_SIZE = 30;

export const listSessions = () => api<SessionList>('/api/sessions', { query: { limit: 100 } });

export const createSession = (body: SessionCreate) =>
  api<SessionPublic>('/api/sessions', { method: 'POST', body });

export const updateSession = (id: string, body: SessionUpdate) =>
  api<SessionPublic>(`/api/sessions/${id}`, { method: 'PATCH', body });

export const deleteSession = (id: string) => api<void>(`/api/sessions/${id}`, { method: 'DELETE' });

export const fetchMessages = (sessionId: string, before: number | undefined) =>
  api<MessagePage>(`/api/sessions/${sessionId}/messages`, { query: { limit: MESSAGE_PAGE_SIZE, before } });

export const listModels = () => api<ModelPublic[]>('/api/models');

export const choosePreference = (comparisonId: string, choice: Preference) =>
  api<ComparisonPublic>(`/api/compare/${comparisonId}/preference`, { method: 'PUT', body: { choice } satisfies PreferenceUpdate });
