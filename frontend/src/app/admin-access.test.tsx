import { QueryClientProvider } from '@tanstack/react-query';
import { render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryRouter, RouterProvider } from 'react-router-dom';
import { setToken } from '@/lib/auth-token';
import { createQueryClient } from '@/lib/query-client';
import type { UserPublic } from '@/lib/protocol';
import { stubApi } from '@/test/render';
import { RequireAdmin, RequireSignedIn } from './guards';
import { Layout } from './Layout';

function renderAt(path: string, role: UserPublic['role']) {
  setToken('t');
  stubApi({ 'GET /api/auth/me': () => ({ id: 1, email: 'a@example.com', display_name: null, role, created_at: '2026-01-01T00:00:00Z' }) });
  const router = createMemoryRouter(
    [{ element: <RequireSignedIn />, children: [{ element: <Layout />, children: [{ element: <RequireAdmin />, children: [{ path: '/admin', element: <p>console</p> }] }, { path: '/chat', element: <p>chat</p> }] }] }],
    { initialEntries: [path] },
  );
  render(<QueryClientProvider client={createQueryClient()}><RouterProvider router={router} /></QueryClientProvider>);
}

afterEach(() => {
  vi.unstubAllGlobals();
  setToken(null);
});

describe('admin access', () => {
  it('hides the Admin link and refuses the page for a user', async () => {
    renderAt('/admin', 'user');
    expect(await screen.findByRole('heading', { name: /403/ })).toBeInTheDocument();
    expect(screen.queryByText('console')).not.toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'Admin' })).not.toBeInTheDocument();
  });

  it('shows the Admin link and the console to an admin', async () => {
    renderAt('/admin', 'admin');
    expect(await screen.findByText('console')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Admin' })).toBeInTheDocument();
  });
});
