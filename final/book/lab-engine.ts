// What the engine chapters' lab graders share: one private engine per
// lab (its own state root, socket, bridge and cgroup parent, as the
// engine's tests use), started by the first check that asks for it and
// removed once the lab's checks are done. A daemon takes seconds to
// start on a busy machine: once per lab, not once per check.
import type { LabContext } from '../../book/labs.ts';
import { TestEngine } from '../testing.ts';

const engines = new WeakMap<LabContext, TestEngine>();

export function engineOf(ctx: LabContext): TestEngine {
  let e = engines.get(ctx);
  if (!e) {
    const made = new TestEngine();
    ctx.cleanup(() => { made.stop(); });
    engines.set(ctx, made);
    e = made;
  }
  return e;
}
