// Preloaded (node --import) into a bench target that has no IPC of its own (zai-proxy as production
// runs it): when the bench process goes away, the target gets SIGTERM and drains, so none outlives it.
process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
