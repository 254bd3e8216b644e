// Applies the saved theme before first paint (a file, not inline, so a strict CSP can forbid inline scripts).
(() => {
  let dark = false;
  try {
    const t = localStorage.getItem('zai-dashboard-theme');
    dark = t === 'dark' || (t !== 'light' && matchMedia('(prefers-color-scheme: dark)').matches);
  } catch {
    // storage or matchMedia unavailable: light
  }
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
})();
