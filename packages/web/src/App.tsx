import { useCallback, useState } from 'react';
import { api, isAuthError } from './api/client.ts';
import { Dashboard } from './components/Dashboard.tsx';
import { SignIn } from './components/SignIn.tsx';
import { useApi } from './hooks/useApi.ts';

/** Decides between the sign-in form and the dashboard, and loads the dashboard's config once. */
export function App() {
  const [generation, setGeneration] = useState(0);
  const [authLost, setAuthLost] = useState(false);
  const config = useApi(`config|${generation}`, (s) => api.config(s));
  const onAuthLost = useCallback(() => setAuthLost(true), []);
  const onSignedIn = useCallback(() => {
    setAuthLost(false);
    setGeneration((g) => g + 1);
  }, []);
  if (authLost || (config.status === 'error' && isAuthError(config.error)))
    return <SignIn onSignedIn={onSignedIn} />;
  if (config.status === 'loading')
    return (
      <p className="boot" role="status">
        Loading the dashboard…
      </p>
    );
  if (config.status === 'error')
    return (
      <div className="boot" role="alert">
        <p>The dashboard service did not answer: {config.error.message}</p>
        <button type="button" onClick={config.reload}>
          Try again
        </button>
      </div>
    );
  return <Dashboard key={generation} config={config.data} onAuthLost={onAuthLost} />;
}
