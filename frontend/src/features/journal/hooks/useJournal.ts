import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import type { JournalList } from '@/lib/protocol';
import { createEntry, deleteEntry, fetchStats, journalKeys, listBuilds, listEntries, updateEntry, type JournalFilters, type StatsBucket } from '../api/journal-api';

export const PENDING_POLL_MS = 1_500;

export const hasPending = (list: JournalList | undefined) => list?.items.some((entry) => entry.mood === 'pending') ?? false;

/** Entries matching the filters; while any is still being tagged, asks again until it is. */
export function useEntries(filters: JournalFilters) {
  return useQuery({
    queryKey: journalKeys.list(filters),
    queryFn: () => listEntries(filters),
    refetchInterval: (query) => (hasPending(query.state.data) ? PENDING_POLL_MS : false),
    placeholderData: (previous) => previous,
  });
}

const MOOD_MODEL = 'journal-mood';
const BUILD_POLL_MS = 5_000;

/** The mood classifier's first-run build while entries wait for it (null when none is under way). */
export function useMoodBuild(waiting: boolean) {
  const builds = useQuery({
    queryKey: journalKeys.builds,
    queryFn: listBuilds,
    enabled: waiting,
    refetchInterval: (query) => (query.state.data?.some((build) => build.name === MOOD_MODEL) ? BUILD_POLL_MS : false),
  });
  return waiting ? (builds.data?.find((build) => build.name === MOOD_MODEL) ?? null) : null;
}

export function useJournalStats(bucket: StatsBucket, poll: boolean) {
  return useQuery({ queryKey: journalKeys.stats(bucket), queryFn: () => fetchStats(bucket), refetchInterval: poll ? PENDING_POLL_MS : false });
}

function useJournalMutation<T, R>(call: (input: T) => Promise<R>) {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: call, onSuccess: () => queryClient.invalidateQueries({ queryKey: journalKeys.all }) });
}

export const useCreateEntry = () => useJournalMutation(createEntry);
export const useUpdateEntry = () => useJournalMutation(({ id, text }: { id: number; text: string }) => updateEntry(id, text));
export const useDeleteEntry = () => useJournalMutation(deleteEntry);

/** When the last pending entry gets its mood, the charts must count it too. */
export function useRefreshStatsWhenTagged(anyPending: boolean) {
  const queryClient = useQueryClient();
  const wasPending = useRef(anyPending);
  useEffect(() => {
    if (wasPending.current && !anyPending) void queryClient.invalidateQueries({ queryKey: ['journal', 'stats'] });
    wasPending.current = anyPending;
  }, [anyPending, queryClient]);
}
