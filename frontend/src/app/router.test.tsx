import { QueryClientProvider } from '@tanstack/react-query';
import { render, screen } from '@testing-library/react';
import { createMemoryRouter, RouterProvider } from 'react-router-dom';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setToken } from '@/lib/auth-token';
import { createQueryClient } from '@/lib/query-client';
import { stubApi } from '@/test/render';
import { routes } from './router';

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  setToken(null);
});

describe('routes', () => {
  it('shows a loading page while the first page loads, without React Router warning about it', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    setToken('t');
    stubApi({ 'GET /api/auth/me': () => ({ id: 1, email: 'a@example.com', display_name: null, role: 'user', created_at: '2026-01-01T00:00:00Z' }) });
    const router = createMemoryRouter(routes, { initialEntries: ['/journal'] });
    render(<QueryClientProvider client={createQueryClient()}><RouterProvider router={router} /></QueryClientProvider>);
    expect(screen.getByRole('status')).toHaveTextContent('Loading Attune');
    // The journal page is a lazy chunk: on a loaded CI machine it takes longer than findBy's 1 s default.
    expect(await screen.findByRole('link', { name: 'Journal' }, { timeout: 10_000 })).toBeInTheDocument();
    expect(warn.mock.calls.flat().join(' ')).not.toContain('HydrateFallback');
  });
});
