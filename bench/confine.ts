// What chapter 06 adds to one start, timed inside one process: the
// engine's side (withSecurity: capabilities worked out, the seccomp
// profile parsed and resolved) and the init's (the layer's bounding
// set, capset and the filter's compile and load). Run by bench/run.ts
// as a child of its own: the confinement cannot be undone, so this
// process prints its numbers (JSON, ms) and exits.
import { performance } from 'node:perf_hooks';
import { defaultSpec } from '../chapters/02-namespaces/defaults.ts';
import { confinement } from '../chapters/06-security/confine.ts';
import { withSecurity } from '../chapters/06-security/defaults.ts';
import { warmConfinement } from '../final/fast/warm.ts';

const ms = (fn: () => void) => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};

// "spare": the layer warmed up first, as the engine's spare init does
// while it waits for a container; else a fresh init's cold start.
const layer = process.argv[2] === 'spare' ? warmConfinement()
  : confinement;
let spec = defaultSpec({ rootfs: '/', args: ['true'] });
// The first call loads and parses the profile file: the engine does
// that once, so a warm call is what a start pays.
withSecurity(spec);
const specMs = ms(() => { spec = withSecurity(spec); });
const c = { process: spec.process, seccomp: spec.linux.seccomp };
const initMs = ms(() => {
  layer.beforeUser?.(c);
  layer.afterUser?.(c);
  layer.beforeExec?.(c);
});
process.stdout.write(`${JSON.stringify({ specMs, initMs })}\n`);
