// The entry of the engine's init bundle (chapter 02's build.ts bundles
// it; spare.ts exports its path as FAST_INIT): chapter 06's init, which
// warms up first when it was made ahead of its container (warm.ts).
import { runInit } from '../../chapters/02-namespaces/init.ts';
import { confinement } from '../../chapters/06-security/confine.ts';
import { madeAhead, warmConfinement } from './warm.ts';

runInit([madeAhead() ? warmConfinement() : confinement]);
