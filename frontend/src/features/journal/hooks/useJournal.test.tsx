import { QueryClientProvider } from '@tanstack/react-query';
import { renderHook, waitFor } from '@testing-library/react';
import type { ReactNode } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createQueryClient } from '@/lib/query-client';
import type { JournalEntryPublic } from '@/lib/protocol';
import { stubApi } from '@/test/render';
import { useEntries } from './useJournal';

const entry = (mood: JournalEntryPublic['mood']): JournalEntryPublic => ({
  id: 1, text: 'A lovely walk by the sea', mood, mood_scores: mood === 'pending' ? null : { joy: 0.9 },
  classifier_version: mood === 'pending' ? null : 'v1', created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z',
});

function wrapper({ children }: { children: ReactNode }) {
  return <QueryClientProvider client={createQueryClient()}>{children}</QueryClientProvider>;
}

afterEach(() => vi.unstubAllGlobals());

describe('useEntries', () => {
  it('polls while an entry is pending and stops once it is tagged', async () => {
    let answers = 0;
    const calls = stubApi({ 'GET /api/journal': () => ({ items: [entry(answers++ < 2 ? 'pending' : 'joy')], total: 1 }) });
    const { result } = renderHook(() => useEntries({ mood: '', q: 'walk' }), { wrapper });
    await waitFor(() => expect(result.current.data?.items[0]?.mood).toBe('joy'), { timeout: 6_000 });
    expect(calls).toHaveLength(3);
    expect(calls[0]?.url.searchParams.get('q')).toBe('walk');
    expect(calls[0]?.url.searchParams.has('mood')).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(calls).toHaveLength(3);
  }, 10_000);
});
