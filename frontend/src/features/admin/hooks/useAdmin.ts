import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  adminKeys,
  fetchCacheStats,
  fetchRetagProgress,
  flushCache,
  listAdminModels,
  listAudit,
  listWorkers,
  loadModel,
  setDefaultModel,
  startRetag,
  unloadModel,
} from '../api/admin-api';

const LIVE_POLL_MS = 5_000;
const RETAG_POLL_MS = 1_000;

export const useAdminModels = () => useQuery({ queryKey: adminKeys.models, queryFn: listAdminModels, refetchInterval: LIVE_POLL_MS });
export const useWorkers = () => useQuery({ queryKey: adminKeys.workers, queryFn: listWorkers, refetchInterval: LIVE_POLL_MS });
export const useCacheStats = () => useQuery({ queryKey: adminKeys.cache, queryFn: fetchCacheStats, refetchInterval: LIVE_POLL_MS });
export const useAudit = (offset: number) => useQuery({ queryKey: adminKeys.audit(offset), queryFn: () => listAudit(offset), placeholderData: (previous) => previous });

export const useRetagProgress = () =>
  useQuery({
    queryKey: adminKeys.retag,
    queryFn: fetchRetagProgress,
    refetchInterval: (query) => (query.state.data?.state === 'running' ? RETAG_POLL_MS : false),
  });

/** Every admin action changes what the console shows and adds an audit row: refresh it all. */
function useAdminAction<T, R>(call: (input: T) => Promise<R>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: call,
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: adminKeys.all });
      // The chat model picker shows which model is the default.
      void queryClient.invalidateQueries({ queryKey: ['chat', 'models'] });
    },
  });
}

export const useLoadModel = () => useAdminAction(loadModel);
export const useUnloadModel = () => useAdminAction(unloadModel);
export const useSetDefaultModel = () => useAdminAction(setDefaultModel);
export const useFlushCache = () => useAdminAction(flushCache);
export const useStartRetag = () => useAdminAction(startRetag);
