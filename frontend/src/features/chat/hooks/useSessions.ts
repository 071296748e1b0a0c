import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ModelPublic } from '@/lib/protocol';
import { chatKeys, createSession, deleteSession, listModels, listSessions, updateSession } from '../api/chat-api';

export const useSessions = () => useQuery({ queryKey: chatKeys.sessions, queryFn: listSessions });

export function useCreateSession() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: createSession,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: chatKeys.sessions }),
  });
}

export function useUpdateSession() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, ...body }: { id: string; title?: string; model?: string | null }) => updateSession(id, body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: chatKeys.sessions }),
  });
}

export function useDeleteSession() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: deleteSession,
    onSuccess: (_, id) => {
      queryClient.removeQueries({ queryKey: chatKeys.messages(id) });
      return queryClient.invalidateQueries({ queryKey: chatKeys.sessions });
    },
  });
}

const BUILD_POLL_MS = 5_000;
const isUsable = (model: ModelPublic) => model.state === 'available' || model.state === 'loaded';

/** The chat models, re-read every few seconds while a first run is still building one of them. */
export function useChatModels() {
  return useQuery({
    queryKey: chatKeys.models,
    queryFn: listModels,
    refetchInterval: (query) => (query.state.data?.some((model) => model.state === 'building') ? BUILD_POLL_MS : false),
  });
}

/** Chat models the server can answer with right now. */
export function useUsableModels() {
  const models = useChatModels();
  return { ...models, data: models.data?.filter(isUsable) };
}
