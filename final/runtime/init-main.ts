// The entry of skiff-runtime's init bundle (chapter 02's build.ts
// bundles it): the engine's init, chapter 06's confinement, plus the
// OCI hooks that run inside the container.
import { runInit } from '../../chapters/02-namespaces/init.ts';
import { confinement } from '../../chapters/06-security/confine.ts';
import { lifecycle } from './init-layer.ts';

runInit([lifecycle, confinement]);
