import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderWithProviders, stubApi } from '@/test/render';
import { CacheCard } from './CacheCard';

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

function renderCard() {
  const calls = stubApi({
    'GET /api/admin/cache': () => ({ hits: 30, misses: 10, hit_ratio: 0.75, entries: 1234 }),
    'POST /api/admin/cache/flush': () => ({ flushed: 1234 }),
  });
  renderWithProviders(<CacheCard />);
  return () => calls.filter((call) => call.method === 'POST');
}

describe('CacheCard', () => {
  it('asks before flushing, and a No flushes nothing', async () => {
    const confirm = vi.spyOn(window, 'confirm').mockReturnValue(false);
    const flushes = renderCard();
    await screen.findByText('1234');
    await userEvent.click(screen.getByRole('button', { name: 'Flush cache' }));
    expect(confirm).toHaveBeenCalledWith(expect.stringContaining('all 1,234 cached replies'));
    expect(flushes()).toHaveLength(0);
    expect(screen.queryByText(/Flushed/)).not.toBeInTheDocument();
  });

  it('flushes once confirmed and says how many entries went', async () => {
    vi.spyOn(window, 'confirm').mockReturnValue(true);
    const flushes = renderCard();
    await screen.findByText('1234');
    await userEvent.click(screen.getByRole('button', { name: 'Flush cache' }));
    expect(await screen.findByRole('status')).toHaveTextContent('Flushed 1234 entries.');
    expect(flushes()).toHaveLength(1);
  });
});
