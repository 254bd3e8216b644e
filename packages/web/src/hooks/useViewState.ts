// The view lives in the URL: read on load and on back/forward, written with pushState on every change.
import { useCallback, useEffect, useState } from 'react';
import { parseView, serializeView, type ViewState } from '../lib/url-state.ts';

export function useViewState(): [ViewState, (v: ViewState) => void] {
  const [view, setViewState] = useState(() => parseView(window.location.search));
  useEffect(() => {
    const on = () => setViewState(parseView(window.location.search));
    window.addEventListener('popstate', on);
    return () => window.removeEventListener('popstate', on);
  }, []);
  const setView = useCallback((v: ViewState) => {
    const url = `${window.location.pathname}${serializeView(v)}${window.location.hash}`;
    window.history.pushState(null, '', url);
    setViewState(v);
  }, []);
  return [view, setView];
}
