import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// Component tests only (src/); the browser tests under e2e/ run under node:test against a real dashboard.
export default defineConfig({
  plugins: [react()],
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test-setup.ts'],
    restoreMocks: true,
  },
});
