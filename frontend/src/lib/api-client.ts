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

interface ValidationProblem {
  loc?: unknown[];
  msg?: string;
  type?: string;
  ctx?: Record<string, unknown>;
}

const FIELD_LABELS: Record<string, string> = { email: 'Email', password: 'Password', display_name: 'Display name' };

const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);

/** One of pydantic's problems as a person would say it, never its raw validator text. */
function describeProblem(problem: ValidationProblem | undefined): string {
  const field = problem?.loc?.at(-1);
  const name = typeof field === 'string' ? (FIELD_LABELS[field] ?? field.replace(/_/g, ' ')) : null;
  const label = name ? name.charAt(0).toUpperCase() + name.slice(1) : 'A field';
  const ctx = problem?.ctx ?? {};
  if (problem?.type === 'missing') return `${label} is required.`;
  if (problem?.type === 'string_too_short') return `${label} needs at least ${String(ctx.min_length)} characters.`;
  if (problem?.type === 'string_too_long') return `${label} can have at most ${String(ctx.max_length)} characters.`;
  if (field === 'email') {
    const reason = typeof ctx.reason === 'string' ? lowerFirst(ctx.reason) : 'it should look like name@example.com.';
    return `Check the email address: ${reason}`;
  }
  const message = (problem?.msg ?? 'Invalid input').replace(/^Value error, /, '');
  return name ? `${label}: ${message}` : message;
}

async function toApiError(response: Response): Promise<ApiError> {
  const body: unknown = await response.json().catch(() => null);
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (detail && typeof detail === 'object' && !Array.isArray(detail) && 'message' in detail) {
    const { code, message } = detail as { code?: string; message: string };
    return new ApiError(response.status, code ?? 'error', message);
  }
  if (Array.isArray(detail)) {
    // FastAPI's 422 shape: [{loc, msg, type, ctx}]; show the first problem in words.
    return new ApiError(response.status, 'validation_error', describeProblem(detail[0] as ValidationProblem | undefined));
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
