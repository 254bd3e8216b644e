import { useId, useState } from 'react';
import { api } from '../api/client.ts';

/** Shown when the dashboard has DASHBOARD_TOKEN set and this browser has no session cookie yet. */
export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const id = useId();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main className="sign-in">
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            if (await api.signIn(token)) onSignedIn();
            else setError('That token is not right.');
          } catch (err) {
            setError(`Could not sign in: ${(err as Error).message}`);
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1>zai-proxy dashboard</h1>
        <p>This dashboard is protected. Enter its token (DASHBOARD_TOKEN) to continue.</p>
        <label htmlFor={id}>Token</label>
        <input
          id={id}
          type="password"
          autoComplete="current-password"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          required
        />
        <button type="submit" disabled={busy || token === ''}>
          Sign in
        </button>
        {error && (
          <p role="alert" className="error-text">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
