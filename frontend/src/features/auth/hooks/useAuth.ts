import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSyncExternalStore } from 'react';
import { flushSync } from 'react-dom';
import { getToken, onTokenChange, setToken } from '@/lib/auth-token';
import type { TokenPublic } from '@/lib/protocol';
import { fetchMe, login, meQueryKey, signup } from '../api/auth';

export function useToken(): string | null {
  return useSyncExternalStore(onTokenChange, getToken);
}

/** The signed-in user, or `null` when there is no token (or it was rejected). */
export function useUser() {
  const token = useToken();
  const query = useQuery({ queryKey: [...meQueryKey, token], queryFn: fetchMe, enabled: token !== null, staleTime: 60_000 });
  return { user: token ? query.data ?? null : null, isLoading: token !== null && query.isPending, error: query.error };
}

function useSignIn<T>(call: (input: T) => Promise<TokenPublic>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: call,
    onSuccess: (answer) => {
      queryClient.clear();
      queryClient.setQueryData([...meQueryKey, answer.access_token], answer.user);
      setToken(answer.access_token);
    },
  });
}

export const useLogin = () => useSignIn(login);
export const useSignup = () => useSignIn(signup);

export function useLogout() {
  const queryClient = useQueryClient();
  return () => {
    // Unmount the signed-in pages first, or their queries would refetch without a token.
    flushSync(() => setToken(null));
    queryClient.clear();
  };
}
