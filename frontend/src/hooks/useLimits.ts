import { useQuery } from '@tanstack/react-query';
import { fetchLimits, limitsKey } from '@/lib/limits';

/** The server's length limits; they change only with a redeploy, so they are fetched once. */
export const useLimits = () => useQuery({ queryKey: limitsKey, queryFn: fetchLimits, staleTime: Infinity });
