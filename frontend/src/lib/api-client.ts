import { env } from '@/config/env';
import { getToken, setToken } from './auth-token';

/** Every failed API call becomes one of these, with the server's `{detail: {code, message}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Query = Record<string, string | number | undefined | null>;

interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  query?: Query;
}

export function apiUrl(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const search = params.toString();
  return `${env.apiUrl}${path}${search ? `?${search}` : ''}`;
}

async function toApiError(response: Response): Promise<ApiError> {
  const body: unknown = await response.json().catch(() => null);
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (detail && typeof detail === 'object' && !Array.isArray(detail) && 'message' in detail) {
    const { code, message } = detail as { code?: string; message: string };
    return new ApiError(response.status, code ?? 'error', message);
  }
  if (Array.isArray(detail)) {
    // FastAPI's 422 shape: [{loc, msg}]; show the first problem in words.
    const first = detail[0] as { loc?: unknown[]; msg?: string } | undefined;
    const field = first?.loc?.at(-1);
    return new ApiError(response.status, 'validation_error', `${field ? `${String(field)}: ` : ''}${first?.msg ?? 'Invalid input'}`);
  }
  return new ApiError(response.status, 'http_error', typeof detail === 'string' ? detail : `Request failed (${response.status})`);
}

/** Sends one authenticated request; the single place where HTTP errors are interpreted. */
export async function apiFetch(path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(apiUrl(path, options.query), {
    method: options.method ?? 'GET',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  if (response.ok) return response;
  const error = await toApiError(response);
  // An expired or revoked token signs the user out everywhere at once.
  if (response.status === 401 && token) setToken(null);
  throw error;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await apiFetch(path, options);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}
