// A fetch wrapped as a hook with an explicit status union; a new key refetches and aborts the old request.
import { useCallback, useEffect, useState } from 'react';

export type Loadable<T> =
  | { status: 'loading' }
  | { status: 'error'; error: Error }
  | { status: 'ready'; data: T; refreshing: boolean };

export function useApi<T>(
  key: string | null,
  load: (signal: AbortSignal) => Promise<T>,
): Loadable<T> & { reload: () => void } {
  const [state, setState] = useState<Loadable<T>>({ status: 'loading' });
  const [nonce, setNonce] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` names everything `load` depends on
  useEffect(() => {
    if (key === null) return;
    const ac = new AbortController();
    setState((s) => (s.status === 'ready' ? { ...s, refreshing: true } : { status: 'loading' }));
    load(ac.signal).then(
      (data) => {
        if (!ac.signal.aborted) setState({ status: 'ready', data, refreshing: false });
      },
      (e: unknown) => {
        if (!ac.signal.aborted)
          setState({ status: 'error', error: e instanceof Error ? e : new Error(String(e)) });
      },
    );
    return () => ac.abort();
  }, [key, nonce]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { ...state, reload };
}
