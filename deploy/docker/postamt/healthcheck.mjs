// HEALTHCHECK of every Postamt image: GET /readyz on the service's health port
// (every dependency answers). Exit 0 when ready, 1 otherwise.
const port = process.env.POSTAMT_METRICS_PORT || '9090';
const bind = process.env.POSTAMT_BIND;
const host =
  !bind || bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind.includes(':') ? `[${bind}]` : bind;
const path = process.argv[2] || '/readyz';
try {
  const res = await fetch(`http://${host}:${port}${path}`, { signal: AbortSignal.timeout(4000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
