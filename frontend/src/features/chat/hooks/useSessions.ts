import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
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

/** Chat models the server can answer with right now. */
export function useUsableModels() {
  return useQuery({
    queryKey: chatKeys.models,
    queryFn: listModels,
    select: (models) => models.filter((model) => model.state === 'available' || model.state === 'loaded'),
  });
}
