import { QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { MemoryRouter } from 'react-router-dom';
import { vi } from 'vitest';
import { createQueryClient } from '@/lib/query-client';

export function renderWithProviders(ui: ReactElement, path = '/') {
  const queryClient = createQueryClient();
  return { queryClient, ...render(<QueryClientProvider client={queryClient}><MemoryRouter initialEntries={[path]}>{ui}</MemoryRouter></QueryClientProvider>) };
}

type Route = (url: URL, init: RequestInit | undefined) => unknown;

/** A route's answer other than 200, e.g. `new ApiAnswer(409, {detail: {code, message}})`. */
export class ApiAnswer {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

/** Stubs fetch with JSON answers chosen by `routes[METHOD path]` (200, or an `ApiAnswer`); records every request. */
export function stubApi(routes: Record<string, Route>) {
  const calls: { method: string; url: URL; body: unknown }[] = [];
  vi.stubGlobal('fetch', async (input: string, init?: RequestInit) => {
    const url = new URL(input, 'http://localhost');
    const method = init?.method ?? 'GET';
    calls.push({ method, url, body: init?.body ? JSON.parse(String(init.body)) : undefined });
    const route = routes[`${method} ${url.pathname}`];
    if (!route) return new Response(JSON.stringify({ detail: { code: 'not_found', message: 'no route' } }), { status: 404 });
    const answer = route(url, init);
    const [status, body] = answer instanceof ApiAnswer ? [answer.status, answer.body] : [200, answer];
    return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  });
  return calls;
}
