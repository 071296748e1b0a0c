import { api, apiFetch } from '@/lib/api-client';
import type {
  BuildPublic,
  JournalEntryCreate,
  JournalEntryPublic,
  JournalEntryUpdate,
  JournalList,
  JournalStats,
  Mood,
} from '@/lib/protocol';

export interface JournalFilters {
  mood?: Mood | '';
  since?: string;
  until?: string;
  q?: string;
}

export const journalKeys = {
  all: ['journal'] as const,
  list: (filters: JournalFilters) => ['journal', 'list', filters] as const,
  stats: (bucket: StatsBucket) => ['journal', 'stats', bucket] as const,
  builds: ['journal', 'builds'] as const,
};

export const listBuilds = () => api<BuildPublic[]>('/api/builds');

// Query parameters: the generated types hold the bodies only (components["schemas"]).
export type StatsBucket = 'day' | 'week';

export const listEntries = (filters: JournalFilters) => api<JournalList>('/api/journal', { query: { ...filters, limit: 100 } });
export const createEntry = (text: string) => api<JournalEntryPublic>('/api/journal', { method: 'POST', body: { text } satisfies JournalEntryCreate });
export const updateEntry = (id: number, text: string) => api<JournalEntryPublic>(`/api/journal/${id}`, { method: 'PATCH', body: { text } satisfies JournalEntryUpdate });
export const deleteEntry = (id: number) => api<void>(`/api/journal/${id}`, { method: 'DELETE' });
export const fetchStats = (bucket: StatsBucket) => api<JournalStats>('/api/journal/stats', { query: { bucket } });

/** Downloads the export through the authenticated client (a plain link could not send the token). */
export async function downloadExport(format: 'csv' | 'json'): Promise<void> {
  const response = await apiFetch('/api/journal/export', { query: { format } });
  const blob = await response.blob();
  const disposition = response.headers.get('Content-Disposition') ?? '';
  const filename = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? `journal.${format}`;
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}
