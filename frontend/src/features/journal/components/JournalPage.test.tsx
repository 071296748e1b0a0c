import { screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BuildPublic, JournalEntryPublic } from '@/lib/protocol';
import { renderWithProviders, stubApi } from '@/test/render';
import { JournalPage } from './JournalPage';

afterEach(() => {
  vi.unstubAllGlobals();
});

const pending: JournalEntryPublic = {
  id: 1, text: 'My first entry', mood: 'pending', mood_scores: null, classifier_version: null, created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z',
};
const moodBuild: BuildPublic = { name: 'journal-mood', kind: 'classifier', progress: 0.43, eta_s: 250, reason: 'building — 43 %, about 4 min left' };

function renderJournal(builds: BuildPublic[]) {
  const calls = stubApi({
    'GET /api/journal': () => ({ items: [pending], total: 1 }),
    'GET /api/journal/stats': () => ({ buckets: [], totals: {} }),
    'GET /api/limits': () => ({ message_chars: 4000, journal_chars: 10_000 }),
    'GET /api/builds': () => builds,
  });
  renderWithProviders(<JournalPage />);
  return calls;
}

describe('JournalPage on a first run', () => {
  it('says why an entry waits for its mood while the mood classifier is built, and how long it will be', async () => {
    renderJournal([moodBuild]);
    const note = await screen.findByTestId('mood-build');
    expect(note).toHaveTextContent('The mood classifier is still being set up');
    expect(note).toHaveTextContent('building — 43 %, about 4 min left');
    expect(screen.getByRole('progressbar', { name: 'journal-mood build' })).toHaveAttribute('aria-valuenow', '43');
  });

  it('says nothing of builds when the classifier is there', async () => {
    const calls = renderJournal([]);
    await screen.findByText('My first entry');
    await vi.waitFor(() => expect(calls.some((call) => call.url.pathname === '/api/builds')).toBe(true));
    expect(screen.queryByTestId('mood-build')).not.toBeInTheDocument();
  });
});
