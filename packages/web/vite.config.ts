import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The dashboard service serves dist/ at `/`; the dev server proxies the API to a local dashboard (8081).
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 400 },
  server: { proxy: { '/api': 'http://127.0.0.1:8081', '/auth': 'http://127.0.0.1:8081' } },
});
