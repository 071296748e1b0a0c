import { api } from '@/lib/api-client';
import type {
  AdminModel,
  AuditList,
  CacheFlushed,
  CacheStats,
  ControlRequested,
  DefaultModelPublic,
  DefaultModelUpdate,
  RetagProgress,
  WorkerPublic,
} from '@/lib/protocol';

export const adminKeys = {
  all: ['admin'] as const,
  models: ['admin', 'models'] as const,
  workers: ['admin', 'workers'] as const,
  cache: ['admin', 'cache'] as const,
  retag: ['admin', 'retag'] as const,
  audit: (offset: number) => ['admin', 'audit', offset] as const,
};

export const AUDIT_PAGE_SIZE = 20;

export const listAdminModels = () => api<AdminModel[]>('/api/admin/models');
export const loadModel = (name: string) => api<ControlRequested>(`/api/admin/models/${encodeURIComponent(name)}/load`, { method: 'POST' });
export const unloadModel = (name: string) => api<ControlRequested>(`/api/admin/models/${encodeURIComponent(name)}/unload`, { method: 'POST' });
export const setDefaultModel = (model: string) => api<DefaultModelPublic>('/api/admin/default-model', { method: 'PUT', body: { model } satisfies DefaultModelUpdate });
export const listWorkers = () => api<WorkerPublic[]>('/api/admin/workers');
export const fetchCacheStats = () => api<CacheStats>('/api/admin/cache');
export const flushCache = () => api<CacheFlushed>('/api/admin/cache/flush', { method: 'POST' });
export const startRetag = () => api<RetagProgress>('/api/admin/journal/retag', { method: 'POST' });
export const fetchRetagProgress = () => api<RetagProgress>('/api/admin/journal/retag');
export const listAudit = (offset: number) => api<AuditList>('/api/admin/audit', { query: { limit: AUDIT_PAGE_SIZE, offset } });
